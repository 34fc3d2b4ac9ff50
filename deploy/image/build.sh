#!/usr/bin/env bash
# `make image [IMAGE_VARIANT=cpu|python|full]`: builds ferry:<version>-<variant> from the build in
# $BUILD_DIR and writes it as an OCI archive, $BUILD_DIR/ferry-<version>-<variant>.oci.tar.
#
#  1. the install tree: `cmake --install --strip --component server` (not the embedding library),
#     keeping the variant's backend plugins (deploy/image/variants/<variant>);
#  2. a Debian 12 root made with debootstrap (minbase) and completed with apt-get: the packages
#     the install tree links against (rootfs.py needs) and the variant's own. It is kept in
#     $FERRY_IMAGE_CACHE (default ~/.cache/ferry/image) between builds, and refreshed from
#     bookworm, bookworm-updates and bookworm-security when older than FERRY_IMAGE_MAX_AGE_DAYS (7);
#  3. the image's root: only those packages' files (rootfs.py slim), imported with podman as the
#     base; then Containerfile adds the install tree, user, ports, entry point and labels, with
#     every time stamp set to the commit's (--timestamp), so the same inputs give the same image.
#
# podman runs with --storage-driver vfs and no container is started (the Containerfile has no
# RUN step). Needs root (debootstrap, chroot) and the packages of scripts/install-deps.sh --image.
set -euo pipefail

variant=${1:-cpu}
source_dir=$(cd "$(dirname "$0")/../.." && pwd)
build_dir=$(cd "${BUILD_DIR:-$source_dir/build}" && pwd)
cache=${FERRY_IMAGE_CACHE:-$HOME/.cache/ferry/image}
max_age_days=${FERRY_IMAGE_MAX_AGE_DAYS:-7}
mirror=${FERRY_DEBIAN_MIRROR:-http://deb.debian.org}
podman=(podman --storage-driver vfs)

variant_file="$source_dir/deploy/image/variants/$variant"
[ -f "$variant_file" ] || { echo "image: no variant $variant (deploy/image/variants/)" >&2; exit 2; }
PLUGINS="" PACKAGES=""
# shellcheck source=/dev/null
. "$variant_file"

version=$("$build_dir/ferry" --version | awk '{print $2}')
revision=$(git -C "$source_dir" rev-parse HEAD)
epoch=$(git -C "$source_dir" log -1 --format=%ct)
created=$(date -u -d "@$epoch" +%Y-%m-%dT%H:%M:%SZ)
origin=$(git -C "$source_dir" config --get remote.origin.url || true)
tag="localhost/ferry:$version-$variant"
work="$build_dir/image/$variant"
say() { echo "image[$variant]: $*" >&2; }

# 1. The install tree ------------------------------------------------------------------------------
rm -rf "$work" && mkdir -p "$work"
cmake --install "$build_dir" --prefix "$work/install" --strip --component server > /dev/null
for plugin in "$work"/install/lib/ferry/backends/libferry_backend_*.so; do
  name=$(basename "$plugin" .so); name=${name#libferry_backend_}
  case " $PLUGINS " in *" $name "*) ;; *) rm "$plugin" ;; esac
done
for name in $PLUGINS; do
  [ -f "$work/install/lib/ferry/backends/libferry_backend_$name.so" ] ||
    { say "the build has no $name plugin (configure with it on)"; exit 1; }
done
# ONNX Runtime's library travels only with its plugin.
case " $PLUGINS " in *" onnxruntime "*) ;; *) rm -f "$work/install/lib/ferry/libonnxruntime.so.1" ;; esac

# 2. The Debian root the packages come from ---------------------------------------------------------
builder="$cache/bookworm"
if [ ! -f "$builder/.complete" ]; then
  say "debootstrap of Debian 12 (bookworm) into $builder"
  rm -rf "$builder" && mkdir -p "$cache"
  debootstrap --variant=minbase bookworm "$builder" "$mirror/debian" > "$cache/debootstrap.log" 2>&1 ||
    { tail -20 "$cache/debootstrap.log" >&2; exit 1; }
  cat > "$builder/etc/apt/sources.list" <<SOURCES
deb $mirror/debian bookworm main
deb $mirror/debian bookworm-updates main
deb $mirror/debian-security bookworm-security main
SOURCES
  touch "$builder/.complete"
fi
in_builder() { DEBIAN_FRONTEND=noninteractive LC_ALL=C chroot "$builder" "$@"; }
cp /etc/resolv.conf "$builder/etc/resolv.conf"
mapfile -t needed < <("$source_dir/deploy/image/rootfs.py" needs "$work/install")
# shellcheck disable=SC2206
packages=("${needed[@]}" $PACKAGES ca-certificates tzdata)
missing=()
for p in "${packages[@]}"; do
  in_builder dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ] || [ -z "$(find "$builder/.complete" -mtime "-$max_age_days")" ]; then
  say "apt-get in the builder root: ${missing[*]:-(upgrade)}"
  in_builder apt-get update -q > "$cache/apt.log" 2>&1 || { tail -20 "$cache/apt.log" >&2; exit 1; }
  in_builder apt-get -y -q upgrade >> "$cache/apt.log" 2>&1
  in_builder apt-get install -y -q --no-install-recommends "${packages[@]}" >> "$cache/apt.log" 2>&1 ||
    { tail -20 "$cache/apt.log" >&2; exit 1; }
  in_builder apt-get clean
  touch "$builder/.complete"
fi

# 3. The image -----------------------------------------------------------------------------------
"$source_dir/deploy/image/rootfs.py" slim "$builder" "$work/rootfs" "${packages[@]}"
pinned=$(tr '\n' ' ' < "$work/rootfs.packages" | sed 's/ $//')
base="localhost/ferry-base:$version-$variant"
tar -C "$work/rootfs" --sort=name --numeric-owner --mtime="@$epoch" -cf "$work/rootfs.tar" .
"${podman[@]}" import --quiet "$work/rootfs.tar" "$base" > /dev/null
say "podman build $tag"
"${podman[@]}" build --quiet --pull=never --timestamp "$epoch" -f "$source_dir/deploy/image/Containerfile" \
  --build-arg BASE="$base" --build-arg VERSION="$version" --build-arg REVISION="$revision" \
  --build-arg CREATED="$created" --build-arg VARIANT="$variant" --build-arg PACKAGES="$pinned" \
  --build-arg SOURCE="${origin:-unknown (no git remote where it was built)}" \
  -t "$tag" "$work" > "$work/image.id"
archive="$build_dir/ferry-$version-$variant.oci.tar"
rm -f "$archive"
"${podman[@]}" save --quiet --format oci-archive -o "$archive" "$tag"
rm -rf "$work/rootfs.tar"
size=$("${podman[@]}" image inspect --format '{{.Size}}' "$tag")
say "$tag: $((size / 1000000)) MB uncompressed, $(( $(stat -c %s "$archive") / 1000000 )) MB archive $archive"
