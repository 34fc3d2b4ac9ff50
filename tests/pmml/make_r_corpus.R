#!/usr/bin/Rscript
# Writes the R-made documents of the PMML conformance corpus: tests/pmml/corpus/r-<name>.pmml and
# r-<name>.csv.
#
#     Rscript tests/pmml/make_r_corpus.R
#
# (Debian: r-base-core r-cran-rpart r-cran-randomforest r-cran-e1071 r-cran-nnet r-cran-survival;
# not needed to run the tests, which read the written files.)
#
# Each document is a model fitted here with R (rpart, randomForest, e1071's svm, nnet, glm, lm,
# survival's coxph, kmeans), written as PMML by this script in the shapes R's pmml package
# (rattle) publishes: rpart trees with surrogate predicates and node ids, randomForest as a
# majority vote or average of TreeModels, glm/lm as GeneralRegressionModels with factors,
# covariates and a PCovMatrix, coxph as a CoxRegression with its baseline cumulative hazard,
# nnet as a NeuralNetwork, svm with its scaling as DerivedFields. The CSV holds input rows and what
# R itself answers for them (predict, predict(se.fit = TRUE), predict(type = "expected"), the
# rpart node a row lands in), computed independently of ferry. Columns as make_corpus.py's, with
# named inputs and `out:<field>` for output fields; an empty answer expects no prediction.

suppressPackageStartupMessages({
  library(rpart)
  library(randomForest)
  library(e1071)
  library(nnet)
  library(survival)
})

script <- sub("--file=", "", grep("--file=", commandArgs(trailingOnly = FALSE), value = TRUE))
out_dir <- file.path(dirname(normalizePath(script)), "corpus")

num <- function(x) ifelse(is.na(x), "", sprintf("%.17g", x))

# ---- data ----

make_data <- function(n, seed) {
  set.seed(seed)
  d <- data.frame(x1 = rnorm(n), x2 = rnorm(n), x3 = runif(n, -2, 2))
  d$g <- factor(sample(c("a", "b", "c"), n, replace = TRUE), levels = c("a", "b", "c"))
  z <- d$x1 + 0.8 * d$x2 * d$x3 + 0.7 * (d$g == "b") + rnorm(n, sd = 0.4)
  d$y2 <- factor(ifelse(z > 0.2, "yes", "no"), levels = c("no", "yes"))
  d$y3 <- factor(cut(d$x2 + 0.5 * d$x1 + rnorm(n, sd = 0.3), c(-Inf, -0.5, 0.6, Inf), labels = c("low", "mid", "high")))
  d$yr <- 1.5 * d$x1 - d$x2 + 0.4 * d$x3^2 + 0.8 * (d$g == "c") + rnorm(n, sd = 0.2)
  d$count <- rpois(n, exp(0.3 + 0.5 * d$x1 - 0.4 * (d$g == "c")))
  d$time <- rexp(n, rate = exp(0.5 * d$x1 - 0.3 * d$x2 + 0.2 * (d$g == "b")))
  d$status <- rbinom(n, 1, 0.8)
  d
}

train <- make_data(400, 17)
test <- make_data(60, 23)

# Test rows with missing inputs: each input missing in turn, then two at once.
with_missing <- function(d, fields) {
  rows <- d[seq_along(fields) + 1, ]
  for (i in seq_along(fields)) rows[i, fields[i]] <- NA
  both <- d[1, ]
  both[1, fields[1:2]] <- NA
  rbind(rows, both)
}

# ---- PMML pieces ----

header <- function(what) {
  c('<?xml version="1.0" encoding="UTF-8"?>',
    '<PMML xmlns="http://www.dmg.org/PMML-4_4" version="4.4">',
    sprintf('  <Header description="%s fitted by R, written by ferry\'s tests/pmml/make_r_corpus.R"/>', what))
}

data_field <- function(name, column) {
  if (is.factor(column)) {
    sprintf('    <DataField name="%s" optype="categorical" dataType="string">%s</DataField>', name,
            paste0('<Value value="', levels(column), '"/>', collapse = ""))
  } else {
    sprintf('    <DataField name="%s" optype="continuous" dataType="double"/>', name)
  }
}

data_dictionary <- function(fields) {
  c("  <DataDictionary>", unlist(lapply(fields, function(f) data_field(f, train[[f]]))), "  </DataDictionary>")
}

mining_schema <- function(inputs, target) {
  c("    <MiningSchema>", sprintf('      <MiningField name="%s" usageType="target"/>', target),
    sprintf('      <MiningField name="%s"/>', inputs), "    </MiningSchema>")
}

write_document <- function(name, lines) writeLines(c(lines, "</PMML>"), file.path(out_dir, paste0("r-", name, ".pmml")))

# inputs: a data frame of input columns; answers: a data frame of answer columns (NA: none).
write_answers <- function(name, inputs, answers, fit = NULL) {
  # A factor input: one more row with a level the model never saw, which R's predict() refuses
  # ("factor g has new level") and PMML's returnInvalid too.
  if ("g" %in% names(inputs) && !is.null(fit)) {
    inputs$g <- as.character(inputs$g)
    inputs <- rbind(inputs, inputs[1, ])
    inputs$g[nrow(inputs)] <- "z"
    answers <- rbind(answers, answers[1, , drop = FALSE])
    answers[nrow(answers), ] <- NA
    answers$error <- c(rep(NA, nrow(answers) - 1), "has a value that is not one of its categories")
    stopifnot(inherits(try(predict(fit, inputs[nrow(inputs), ]), silent = TRUE), "try-error"))
  }
  cells <- lapply(c(inputs, answers), function(col) if (is.numeric(col)) num(col) else ifelse(is.na(col), "", as.character(col)))
  table <- as.data.frame(cells, stringsAsFactors = FALSE, optional = TRUE)
  names(table) <- c(paste0("in:", names(inputs)), names(answers))
  write.table(table, file.path(out_dir, paste0("r-", name, ".csv")), sep = ",", quote = FALSE, row.names = FALSE, na = "")
}

class_answers <- function(labels, probs) {
  answers <- data.frame(label = as.character(labels), stringsAsFactors = FALSE)
  for (level in colnames(probs)) answers[[paste0("p:", level)]] <- probs[, level]
  answers
}

score_distribution <- function(counts, probs, levels) {
  sprintf('<ScoreDistribution value="%s" recordCount="%s" confidence="%s"/>', levels, num(counts), num(probs))
}

# ---- rpart: surrogate predicates, node ids, recordCounts, confidences ----

rpart_split_predicate <- function(split_row, var, left) {
  # ncat -1: a row goes left when x < index; +1: when x >= index.
  below_goes_left <- split_row["ncat"] < 0
  op <- if (left == below_goes_left) "lessThan" else "greaterOrEqual"
  sprintf('<SimplePredicate field="%s" operator="%s" value="%s"/>', var, op, num(split_row["index"]))
}

rpart_nodes <- function(fit, classification) {
  frame <- fit$frame
  ids <- as.integer(rownames(frame))
  splits <- fit$splits
  split_at <- 1
  split_rows <- list()  # by frame row: the primary split, then its surrogates
  for (r in seq_len(nrow(frame))) {
    if (frame$var[r] == "<leaf>") next
    k <- 1 + frame$ncompete[r] + frame$nsurrogate[r]
    split_rows[[r]] <- splits[split_at:(split_at + k - 1), , drop = FALSE]
    split_rows[[r]] <- split_rows[[r]][c(1, seq_len(frame$nsurrogate[r]) + 1 + frame$ncompete[r]), , drop = FALSE]
    split_at <- split_at + k
  }
  levels <- attr(fit, "ylevels")
  node <- function(r, predicate, depth) {
    pad <- strrep("  ", depth + 2)
    id <- ids[r]
    if (classification) {
      k <- length(levels)
      yval2 <- frame$yval2[r, ]
      counts <- yval2[2:(k + 1)]
      probs <- yval2[(k + 2):(2 * k + 1)]
      body <- score_distribution(counts, probs, levels)
      open <- sprintf('%s<Node id="%d" score="%s" recordCount="%s">', pad, id, levels[frame$yval[r]], num(frame$n[r]))
    } else {
      body <- character(0)
      open <- sprintf('%s<Node id="%d" score="%s" recordCount="%s">', pad, id, num(frame$yval[r]), num(frame$n[r]))
    }
    lines <- c(open, paste0(pad, "  ", predicate), paste0(pad, "  ", body))
    if (frame$var[r] != "<leaf>") {
      s <- split_rows[[r]]
      vars <- rownames(s)
      left_r <- match(2 * id, ids)
      right_r <- match(2 * id + 1, ids)
      # With every split field missing, a row goes the majority way (usesurrogate = 2).
      majority_left <- frame$n[left_r] > frame$n[right_r]
      child_predicate <- function(left) {
        parts <- vapply(seq_len(nrow(s)), function(i) rpart_split_predicate(s[i, ], vars[i], left), "")
        last <- if (left == majority_left) "<True/>" else "<False/>"
        sprintf('<CompoundPredicate booleanOperator="surrogate">%s%s</CompoundPredicate>', paste(parts, collapse = ""), last)
      }
      lines <- c(lines, node(left_r, child_predicate(TRUE), depth + 1), node(right_r, child_predicate(FALSE), depth + 1))
    }
    c(lines, paste0(pad, "</Node>"))
  }
  node(1, "<True/>", 0)
}

# The frame row each row of `d` lands in (rpart's own prediction walk).
rpart_rows <- function(fit, d) rpart:::pred.rpart(fit, rpart:::rpart.matrix(d[, attr(fit$terms, "term.labels"), drop = FALSE]))

write_rpart <- function(name, formula, method) {
  fit <- rpart(formula, data = train, method = method,
               control = rpart.control(cp = 0.01, maxcompete = 0, maxsurrogate = 2, usesurrogate = 2, xval = 0))
  inputs <- attr(fit$terms, "term.labels")
  target <- all.vars(formula)[1]
  classification <- method == "class"
  outputs <- c('    <Output>', '      <OutputField name="node" feature="entityId" dataType="string"/>',
               if (classification) '      <OutputField name="confidence" feature="confidence" dataType="double"/>',
               '    </Output>')
  write_document(name, c(
    header(sprintf("rpart (%s)", method)),
    data_dictionary(c(inputs, target)),
    sprintf('  <TreeModel functionName="%s" missingValueStrategy="none" noTrueChildStrategy="returnLastPrediction" splitCharacteristic="binarySplit">',
            if (classification) "classification" else "regression"),
    mining_schema(inputs, target), outputs, rpart_nodes(fit, classification), "  </TreeModel>"))
  rows <- rbind(test, with_missing(test, inputs))
  landed <- rpart_rows(fit, rows)
  if (classification) {
    probs <- predict(fit, rows, type = "prob")
    answers <- class_answers(predict(fit, rows, type = "class"), probs)
    answers[["out:confidence"]] <- apply(probs, 1, max)
  } else {
    answers <- data.frame(prediction = predict(fit, rows))
  }
  answers[["out:node"]] <- rownames(fit$frame)[landed]
  write_answers(name, rows[, inputs], answers)
}

# ---- randomForest: a majority vote (classification) or an average (regression) of trees ----

forest_tree <- function(fit, k, inputs, target, classification) {
  t <- getTree(fit, k, labelVar = FALSE)
  levels <- fit$classes
  node <- function(i, predicate, depth) {
    pad <- strrep("  ", depth + 4)
    if (t[i, "status"] == -1) {
      score <- if (classification) levels[t[i, "prediction"]] else num(t[i, "prediction"])
      return(sprintf('%s<Node score="%s">%s</Node>', pad, score, predicate))
    }
    var <- inputs[t[i, "split var"]]
    point <- num(t[i, "split point"])
    c(sprintf("%s<Node>%s", pad, predicate),
      node(t[i, "left daughter"], sprintf('<SimplePredicate field="%s" operator="lessOrEqual" value="%s"/>', var, point), depth + 1),
      node(t[i, "right daughter"], sprintf('<SimplePredicate field="%s" operator="greaterThan" value="%s"/>', var, point), depth + 1),
      paste0(pad, "</Node>"))
  }
  function_name <- if (classification) "classification" else "regression"
  c(sprintf('      <Segment id="%d"><True/>', k),
    sprintf('        <TreeModel functionName="%s" splitCharacteristic="binarySplit">', function_name),
    sub("^", "    ", mining_schema(inputs, target)),
    node(1, "<True/>", 0), "        </TreeModel>", "      </Segment>")
}

write_forest <- function(name, formula, classification) {
  set.seed(5)
  fit <- randomForest(formula, data = train, ntree = 25, maxnodes = 24)
  inputs <- attr(fit$terms, "term.labels")
  target <- all.vars(formula)[1]
  write_document(name, c(
    header("randomForest"),
    data_dictionary(c(inputs, target)),
    sprintf('  <MiningModel functionName="%s">', if (classification) "classification" else "regression"),
    mining_schema(inputs, target),
    sprintf('    <Segmentation multipleModelMethod="%s">', if (classification) "majorityVote" else "average"),
    unlist(lapply(seq_len(fit$ntree), function(k) forest_tree(fit, k, inputs, target, classification))),
    "    </Segmentation>", "  </MiningModel>"))
  if (classification) {
    answers <- class_answers(predict(fit, test, type = "response"), predict(fit, test, type = "prob"))
  } else {
    answers <- data.frame(prediction = predict(fit, test))
  }
  write_answers(name, test[, inputs], answers)
}

# ---- glm and lm: GeneralRegressionModel with factors, covariates and the covariance matrix ----

write_glm <- function(name, formula, family, model_type) {
  fit <- if (is.null(family)) lm(formula, data = train) else glm(formula, family = family, data = train)
  target <- all.vars(formula)[1]
  inputs <- attr(terms(fit), "term.labels")
  beta <- coef(fit)
  parameters <- paste0("p", seq_along(beta) - 1)
  factors <- inputs[vapply(inputs, function(f) is.factor(train[[f]]), TRUE)]
  covariates <- setdiff(inputs, factors)
  pp <- character(0)
  for (i in seq_along(beta)) {
    term <- names(beta)[i]
    if (term %in% covariates) {
      pp <- c(pp, sprintf('<PPCell value="1" predictorName="%s" parameterName="%s"/>', term, parameters[i]))
    }
    for (f in factors) {
      if (startsWith(term, f) && substring(term, nchar(f) + 1) %in% levels(train[[f]])) {
        pp <- c(pp, sprintf('<PPCell value="%s" predictorName="%s" parameterName="%s"/>', substring(term, nchar(f) + 1), f, parameters[i]))
      }
    }
  }
  classification <- !is.null(family) && family$family == "binomial"
  levels <- levels(train[[target]])
  category <- if (classification) sprintf(' targetCategory="%s"', levels[2]) else ""
  cov <- vcov(fit)
  cov_cells <- unlist(lapply(seq_along(beta), function(i) vapply(seq_len(i), function(j)
    sprintf('<PCovCell pRow="%s" pCol="%s" value="%s"/>', parameters[i], parameters[j], num(cov[i, j])), "")))
  attributes <- if (is.null(family)) 'modelType="regression"' else
    sprintf('modelType="generalizedLinear" linkFunction="%s" distribution="%s"', family$link, family$family)
  if (classification) attributes <- paste0(attributes, sprintf(' targetReferenceCategory="%s"', levels[1]))
  write_document(name, c(
    header(if (is.null(family)) "lm" else sprintf("glm (%s)", family$family)),
    data_dictionary(c(inputs, target)),
    sprintf('  <GeneralRegressionModel functionName="%s" %s>', if (classification) "classification" else "regression", attributes),
    mining_schema(inputs, target),
    if (!classification) c("    <Output>", '      <OutputField name="se" feature="standardError" dataType="double"/>', "    </Output>"),
    sprintf("    <ParameterList>%s</ParameterList>", paste0('<Parameter name="', parameters, '" label="', names(beta), '"/>', collapse = "")),
    if (length(factors)) sprintf("    <FactorList>%s</FactorList>", paste0('<Predictor name="', factors, '"/>', collapse = "")),
    if (length(covariates)) sprintf("    <CovariateList>%s</CovariateList>", paste0('<Predictor name="', covariates, '"/>', collapse = "")),
    sprintf("    <PPMatrix>%s</PPMatrix>", paste(pp, collapse = "")),
    if (!classification) sprintf("    <PCovMatrix>%s</PCovMatrix>", paste(cov_cells, collapse = "")),
    sprintf("    <ParamMatrix>%s</ParamMatrix>",
            paste0('<PCell', category, ' parameterName="', parameters, '" beta="', num(beta), '" df="1"/>', collapse = "")),
    "  </GeneralRegressionModel>"))
  rows <- rbind(test, with_missing(test, inputs))
  if (classification) {
    p <- predict(fit, rows, type = "response")
    probs <- cbind(1 - p, p)
    colnames(probs) <- levels
    answers <- class_answers(ifelse(p > 0.5, levels[2], levels[1]), probs)
  } else {
    predicted <- predict(fit, rows, type = "response", se.fit = TRUE)
    answers <- data.frame(prediction = predicted$fit)
    answers[["out:se"]] <- ifelse(is.na(predicted$fit), NA, predicted$se.fit)
  }
  write_answers(name, rows[, inputs], answers, fit)
}

# ---- coxph: a CoxRegression with the baseline cumulative hazard at the covariates' means ----

write_cox <- function(name, stratified) {
  formula <- if (stratified) Surv(time, status) ~ x1 + x2 + strata(g) else Surv(time, status) ~ x1 + x2 + x3
  fit <- coxph(formula, data = train)
  beta <- coef(fit)
  covariates <- names(beta)
  parameters <- paste0("p", seq_along(beta))
  hazard <- basehaz(fit, centered = TRUE)
  cells <- function(h) paste0('<BaselineCell time="', num(h$time), '" cumHazard="', num(h$hazard), '"/>', collapse = "")
  if (stratified) {
    strata <- sub("^g=", "", as.character(hazard$strata))  # "a", or "g=a" in older survival
    strata_levels <- unique(strata)
    tables <- vapply(strata_levels, function(level) {
      h <- hazard[strata == level, ]
      sprintf('<BaselineStratum value="%s" maxTime="%s">%s</BaselineStratum>', level, num(max(h$time)), cells(h))
    }, "")
    tables <- sprintf("    <BaseCumHazardTables>%s</BaseCumHazardTables>", paste(tables, collapse = ""))
  } else {
    tables <- sprintf('    <BaseCumHazardTables maxTime="%s">%s</BaseCumHazardTables>', num(max(hazard$time)), cells(hazard))
  }
  inputs <- c(covariates, if (stratified) "g", "time", "status")
  write_document(name, c(
    header(if (stratified) "coxph (stratified)" else "coxph"),
    data_dictionary(c(inputs, "risk")),
    sprintf('  <GeneralRegressionModel functionName="regression" modelType="CoxRegression" endTimeVariable="time" statusVariable="status"%s>',
            if (stratified) ' baselineStrataVariable="g"' else ""),
    mining_schema(inputs, "risk"),
    "    <Output>", '      <OutputField name="cumulative_hazard" feature="predictedValue" dataType="double"/>',
    '      <OutputField name="survival" feature="transformedValue" dataType="double"><Apply function="exp"><Apply function="*"><Constant>-1</Constant><FieldRef field="cumulative_hazard"/></Apply></Apply></OutputField>',
    "    </Output>",
    sprintf("    <ParameterList>%s</ParameterList>",
            paste0('<Parameter name="', parameters, '" label="', covariates, '" referencePoint="', num(fit$means), '"/>', collapse = "")),
    sprintf("    <CovariateList>%s</CovariateList>", paste0('<Predictor name="', covariates, '"/>', collapse = "")),
    sprintf("    <PPMatrix>%s</PPMatrix>", paste0('<PPCell value="1" predictorName="', covariates, '" parameterName="', parameters, '"/>', collapse = "")),
    sprintf("    <ParamMatrix>%s</ParamMatrix>", paste0('<PCell parameterName="', parameters, '" beta="', num(beta), '" df="1"/>', collapse = "")),
    tables, "  </GeneralRegressionModel>"))
  rows <- rbind(test, with_missing(test, covariates))
  # Times within each stratum's baseline (past maxTime, PMML answers nothing).
  limit <- if (stratified) tapply(hazard$time, strata, max)[as.character(rows$g)] else max(hazard$time)
  rows$time <- pmin(rows$time, limit * 0.999)
  expected <- predict(fit, rows, type = "expected")
  answers <- data.frame(prediction = expected)
  answers[["out:survival"]] <- exp(-expected)
  write_answers(name, rows[, inputs], answers, fit)
}

# ---- nnet: a NeuralNetwork of one logistic hidden layer ----

write_nnet <- function(name, formula, kind) {
  set.seed(3)
  fit <- nnet(formula, data = train, size = 4, decay = 0.05, maxit = 300, trace = FALSE, linout = kind == "regression")
  inputs <- attr(terms(formula, data = train), "term.labels")
  target <- all.vars(formula)[1]
  w <- fit$wts
  n_in <- fit$n[1]
  n_hidden <- fit$n[2]
  n_out <- fit$n[3]
  neuron <- function(id, bias, from, weights) {
    sprintf('        <Neuron id="%s" bias="%s">%s</Neuron>', id, num(bias),
            paste0('<Con from="', from, '" weight="', num(weights), '"/>', collapse = ""))
  }
  hidden <- vapply(seq_len(n_hidden), function(h) {
    at <- (h - 1) * (n_in + 1)
    neuron(paste0("h", h), w[at + 1], paste0("i", seq_len(n_in)), w[at + 1 + seq_len(n_in)])
  }, "")
  outputs <- vapply(seq_len(n_out), function(o) {
    at <- n_hidden * (n_in + 1) + (o - 1) * (n_hidden + 1)
    neuron(paste0("o", o), w[at + 1], paste0("h", seq_len(n_hidden)), w[at + 1 + seq_len(n_hidden)])
  }, "")
  levels <- levels(train[[target]])
  if (kind == "regression") {
    output_layer <- c('      <NeuralLayer activationFunction="identity">', outputs, "      </NeuralLayer>")
    neural_outputs <- sprintf('      <NeuralOutput outputNeuron="o1"><DerivedField optype="continuous" dataType="double"><FieldRef field="%s"/></DerivedField></NeuralOutput>', target)
  } else if (kind == "binary") {
    # One logistic unit, P(second level); a last identity layer gives both probabilities.
    output_layer <- c('      <NeuralLayer activationFunction="logistic">', outputs, "      </NeuralLayer>",
                      '      <NeuralLayer activationFunction="identity">',
                      '        <Neuron id="p1" bias="1"><Con from="o1" weight="-1"/></Neuron>',
                      '        <Neuron id="p2" bias="0"><Con from="o1" weight="1"/></Neuron>', "      </NeuralLayer>")
    neural_outputs <- sprintf('      <NeuralOutput outputNeuron="p%d"><DerivedField optype="categorical" dataType="string"><NormDiscrete field="%s" value="%s"/></DerivedField></NeuralOutput>',
                              1:2, target, levels)
  } else {
    output_layer <- c('      <NeuralLayer activationFunction="identity" normalizationMethod="softmax">', outputs, "      </NeuralLayer>")
    neural_outputs <- sprintf('      <NeuralOutput outputNeuron="o%d"><DerivedField optype="categorical" dataType="string"><NormDiscrete field="%s" value="%s"/></DerivedField></NeuralOutput>',
                              seq_along(levels), target, levels)
  }
  neural_inputs <- sprintf('      <NeuralInput id="i%d"><DerivedField optype="continuous" dataType="double"><FieldRef field="%s"/></DerivedField></NeuralInput>',
                           seq_len(n_in), inputs)
  write_document(name, c(
    header("nnet"),
    data_dictionary(c(inputs, target)),
    sprintf('  <NeuralNetwork functionName="%s" activationFunction="logistic">', if (kind == "regression") "regression" else "classification"),
    mining_schema(inputs, target),
    sprintf('    <NeuralInputs numberOfInputs="%d">', n_in), neural_inputs, "    </NeuralInputs>",
    '    <NeuralLayer activationFunction="logistic">', hidden, "    </NeuralLayer>",
    output_layer, "    <NeuralOutputs>", neural_outputs, "    </NeuralOutputs>", "  </NeuralNetwork>"))
  rows <- rbind(test, with_missing(test, inputs)[1, ])
  if (kind == "regression") {
    answers <- data.frame(prediction = as.vector(predict(fit, rows)))
    answers$prediction[nrow(rows)] <- NA  # a missing input: no prediction
  } else {
    raw <- predict(fit, rows, type = "raw")
    probs <- if (kind == "binary") cbind(1 - raw[, 1], raw[, 1]) else raw
    colnames(probs) <- levels
    answers <- class_answers(levels[max.col(probs, ties.method = "first")], probs)
    answers[nrow(rows), ] <- NA
  }
  write_answers(name, rows[, inputs], answers)
}

# ---- e1071 svm: radial kernel over inputs scaled as svm scaled them ----

write_svm <- function(name, formula, classification) {
  fit <- svm(formula, data = train, kernel = "radial", gamma = 0.4, cost = 2, scale = TRUE)
  inputs <- attr(terms(formula, data = train), "term.labels")
  target <- all.vars(formula)[1]
  center <- fit$x.scale[["scaled:center"]]
  scale <- fit$x.scale[["scaled:scale"]]
  derived <- sprintf('    <DerivedField name="scaled_%s" optype="continuous" dataType="double"><Apply function="/"><Apply function="-"><FieldRef field="%s"/><Constant>%s</Constant></Apply><Constant>%s</Constant></Apply></DerivedField>',
                     inputs, inputs, num(center[inputs]), num(scale[inputs]))
  vectors <- vapply(seq_len(nrow(fit$SV)), function(i)
    sprintf('      <VectorInstance id="%d"><Array n="%d" type="real">%s</Array></VectorInstance>', i, length(inputs),
            paste(num(fit$SV[i, inputs]), collapse = " ")), "")
  coefficients <- paste0('<Coefficient value="', num(fit$coefs[, 1]), '"/>', collapse = "")
  if (classification) {
    # decision > 0: the first class of the decision's name ("no/yes"); PMML's f < threshold: the
    # targetCategory.
    pair <- strsplit(colnames(attr(predict(fit, test[1, ], decision.values = TRUE), "decision.values")), "/")[[1]]
    machine <- sprintf('    <SupportVectorMachine targetCategory="%s" alternateTargetCategory="%s">', pair[2], pair[1])
    targets <- character(0)
  } else {
    machine <- "    <SupportVectorMachine>"
    targets <- sprintf('    <Targets><Target field="%s" rescaleFactor="%s" rescaleConstant="%s"/></Targets>', target,
                       num(fit$y.scale[["scaled:scale"]]), num(fit$y.scale[["scaled:center"]]))
  }
  write_document(name, c(
    header("e1071 svm"),
    data_dictionary(c(inputs, target)),
    "  <TransformationDictionary>", derived, "  </TransformationDictionary>",
    sprintf('  <SupportVectorMachineModel functionName="%s"%s>', if (classification) "classification" else "regression",
            if (classification) ' classificationMethod="OneAgainstOne"' else ""),
    mining_schema(inputs, target), targets,
    sprintf('    <RadialBasisKernelType gamma="%s"/>', num(fit$gamma)),
    sprintf('    <VectorDictionary numberOfVectors="%d">', nrow(fit$SV)),
    sprintf('      <VectorFields numberOfFields="%d">%s</VectorFields>', length(inputs),
            paste0('<FieldRef field="scaled_', inputs, '"/>', collapse = "")),
    vectors, "    </VectorDictionary>",
    machine,
    sprintf('      <SupportVectors numberOfSupportVectors="%d" numberOfAttributes="%d">%s</SupportVectors>', nrow(fit$SV),
            length(inputs), paste0('<SupportVector vectorId="', seq_len(nrow(fit$SV)), '"/>', collapse = "")),
    sprintf('      <Coefficients numberOfCoefficients="%d" absoluteValue="%s">%s</Coefficients>', nrow(fit$SV), num(-fit$rho), coefficients),
    "    </SupportVectorMachine>", "  </SupportVectorMachineModel>"))
  predicted <- predict(fit, test)
  answers <- if (classification) data.frame(label = as.character(predicted)) else data.frame(prediction = as.vector(predicted))
  write_answers(name, test[, inputs], answers)
}

# ---- kmeans: a ClusteringModel; R's nearest center and its squared distance ----

write_kmeans <- function(name, k) {
  inputs <- c("x1", "x2", "x3")
  set.seed(11)
  fit <- kmeans(train[, inputs], centers = k, nstart = 5)
  clusters <- vapply(seq_len(k), function(j)
    sprintf('    <Cluster id="%d" name="cluster %d"><Array n="3" type="real">%s</Array></Cluster>', j, j,
            paste(num(fit$centers[j, ]), collapse = " ")), "")
  write_document(name, c(
    header("kmeans"),
    data_dictionary(inputs),
    sprintf('  <ClusteringModel functionName="clustering" modelClass="centerBased" numberOfClusters="%d">', k),
    "    <MiningSchema>", sprintf('      <MiningField name="%s"/>', inputs), "    </MiningSchema>",
    "    <Output>", '      <OutputField name="id" feature="clusterId" dataType="integer"/>',
    '      <OutputField name="distance" feature="affinity" dataType="double"/>', "    </Output>",
    '    <ComparisonMeasure kind="distance"><squaredEuclidean/></ComparisonMeasure>',
    sprintf('    <ClusteringField field="%s" compareFunction="absDiff"/>', inputs),
    clusters, "  </ClusteringModel>"))
  x <- as.matrix(test[, inputs])
  distances <- sapply(seq_len(k), function(j) colSums((t(x) - fit$centers[j, ])^2))
  nearest <- max.col(-distances, ties.method = "first")
  answers <- data.frame(label = as.character(nearest))
  answers[["out:id"]] <- nearest
  answers[["out:distance"]] <- distances[cbind(seq_len(nrow(x)), nearest)]
  write_answers(name, test[, inputs], answers)
}

write_rpart("rpart-class", y2 ~ x1 + x2 + x3, "class")
write_rpart("rpart-multi", y3 ~ x1 + x2 + x3, "class")
write_rpart("rpart-reg", yr ~ x1 + x2 + x3, "anova")
write_forest("randomforest-class", y2 ~ x1 + x2 + x3, TRUE)
write_forest("randomforest-reg", yr ~ x1 + x2 + x3, FALSE)
write_glm("lm", yr ~ x1 + x2 + x3 + g, NULL, "regression")
write_glm("glm-poisson", count ~ x1 + g, poisson(), "generalizedLinear")
write_glm("glm-binomial", y2 ~ x1 + x2 + g, binomial(), "generalizedLinear")
write_glm("glm-gamma", time ~ x1 + x3, Gamma(link = "log"), "generalizedLinear")
write_cox("coxph", FALSE)
write_cox("coxph-strata", TRUE)
write_nnet("nnet-multi", y3 ~ x1 + x2 + x3, "multi")
write_nnet("nnet-binary", y2 ~ x1 + x2 + x3, "binary")
write_nnet("nnet-reg", yr ~ x1 + x2 + x3, "regression")
write_svm("svm-class", y2 ~ x1 + x2 + x3, TRUE)
write_svm("svm-reg", yr ~ x1 + x2 + x3, FALSE)
write_kmeans("kmeans", 3)
