// Python hooks around any model (model.yaml `pre_transform`, `predict`, `post_transform`, each
// module:factory; docs/python.md, "Hooks"). Each factory is called for each instance of the
// model, when it is created (so again whenever the model or its model.yaml changes): the
// pre/post ones with the config (model.yaml `parameters` as a dict), predict's with the config
// and the model (a callable: dict of numpy arrays -> dict of numpy arrays, running this
// instance of the model). Each returns the per-event function; an event is one request's
// tensors as a dict of numpy arrays (dynamic batching is off for such models). pre_transform's
// function returns the model's inputs or None, post_transform's the outputs or None: None skips
// the event (an answer without outputs; a Kafka stream counts it as skipped). An exception in
// pre_transform answers 400, in predict or post_transform 500, traceback in the log.
#pragma once

#include <memory>
#include <string>

#include "backends/backend.h"

namespace ferry::backends::python {

struct HookSpec {
  std::string pre_transform, predict, post_transform;  // module:factory, or empty
};

// `model` with the hooks around its instances; the modules are imported (or reloaded) here, from
// the version folder, the model folder, then sys.path.
core::Result<std::unique_ptr<BackendModel>> WithHooks(std::unique_ptr<BackendModel> model, const HookSpec& hooks,
                                                      const LoadOptions& options);

}  // namespace ferry::backends::python
