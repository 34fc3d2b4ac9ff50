#!/usr/bin/python3
"""The root file systems of ferry's images, made from Debian's packages.

    rootfs.py needs INSTALL_DIR
        Prints the Debian packages whose libraries the ELF files under INSTALL_DIR (an install
        tree of ferry: bin/ferry, lib/ferry/...) link against, as this machine resolves them.

    rootfs.py slim BUILDER_ROOT OUT_DIR PACKAGE...
        Copies into OUT_DIR (made empty first) the files of PACKAGE... and of every package they
        depend on, as installed in BUILDER_ROOT (a Debian root file system that debootstrap made
        and apt-get completed), and nothing else: no shell, no package manager, no documentation
        but the copyright files. It writes the parts a running program needs that no package
        lists (ld.so.cache, the CA bundle, /etc/localtime, /etc/passwd with the user ferry runs
        as), a /var/lib/dpkg/status holding exactly the copied packages (so that image scanners
        see what is inside) and OUT_DIR.packages: one "name=version" line per package.

Dependencies that only the package manager's scripts use (debconf, perl, dpkg, openssl for
ca-certificates' bundle, ...), and the few a package declares but never uses at run time, are not
followed: see NOT_FOLLOWED.
"""

import os
import re
import shutil
import stat
import subprocess
import sys

# Packages that others depend on only for their maintainer scripts, which never run in the image,
# and python3-pythran: python3-scipy depends on it, but it is a compiler (with gcc, g++, Boost's
# and OpenBLAS's headers: 500 MB) that scipy's installed modules never import.
NOT_FOLLOWED = {
    "debconf", "debconf-2.0", "cdebconf", "perl-base", "dpkg", "init-system-helpers", "adduser",
    "sensible-utils", "openssl", "passwd", "login", "lsb-base", "sysvinit-utils", "usrmerge",
    "usr-is-merged", "base-passwd", "install-info", "dpkg-dev", "ucf", "coreutils", "debianutils",
    "python3-pythran",
}

# What is left out of every package: documentation and translations (copyright files are kept).
DROPPED = re.compile(r"^/usr/share/(man|info|locale|lintian|linda|bug|bash-completion|"
                     r"doc-base|menu|gtk-doc|help)/|^/usr/share/doc/(?!.*/copyright$)")

# The user the images run as (the same uid and gid as the distroless images' nonroot).
USER_ID = 65532


def needs(install_dir):
    """Debian packages owning the libraries that the ELF files under install_dir need."""
    libraries = set()
    for folder, _, files in os.walk(install_dir):
        for name in files:
            path = os.path.join(folder, name)
            with open(path, "rb") as f:
                if f.read(4) != b"\x7fELF":
                    continue
            out = subprocess.run(["ldd", path], capture_output=True, text=True, check=True).stdout
            for line in out.splitlines():
                m = re.match(r"\s*\S+ => (/\S+)", line)
                if m is None:
                    if "not found" in line:
                        sys.exit(f"rootfs.py: {path}: {line.strip()}")
                    continue
                real = os.path.realpath(m.group(1))
                if not real.startswith(os.path.realpath(install_dir) + "/"):
                    libraries.add(real)
    packages = set()
    for library in sorted(libraries):
        # dpkg's database names a merged-/usr file by the path its package ships it under.
        candidates = [library]
        if library.startswith("/usr/lib/"):
            candidates.append(library[len("/usr"):])
        for candidate in candidates:
            out = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True)
            if out.returncode == 0:
                packages.add(out.stdout.split(":")[0].strip())
                break
        else:
            sys.exit(f"rootfs.py: no Debian package holds {library}")
    return sorted(packages)


def read_status(root):
    """The installed packages of root's dpkg database: name -> (fields, paragraph text)."""
    with open(os.path.join(root, "var/lib/dpkg/status"), encoding="utf-8") as f:
        text = f.read()
    installed = {}
    for paragraph in text.strip().split("\n\n"):
        fields = {}
        key = None
        for line in paragraph.splitlines():
            if line[:1] in (" ", "\t") and key:
                fields[key] += "\n" + line
            else:
                key, _, value = line.partition(":")
                fields[key] = value.strip()
        if fields.get("Status", "").endswith(" installed"):
            installed[fields["Package"]] = (fields, paragraph)
    return installed


def closure(installed, wanted):
    """wanted and everything it depends on, among the installed packages."""
    provides = {}
    for name, (fields, _) in installed.items():
        for item in fields.get("Provides", "").split(","):
            if item.strip():
                provides.setdefault(item.split("(")[0].strip(), name)
    chosen, todo = set(), list(wanted)
    while todo:
        name = todo.pop()
        if name in chosen:
            continue
        if name not in installed:
            sys.exit(f"rootfs.py: {name} is not installed in the builder root")
        chosen.add(name)
        fields = installed[name][0]
        relations = ",".join(filter(None, [fields.get("Pre-Depends"), fields.get("Depends")]))
        for relation in relations.split(","):
            if not relation.strip():
                continue
            options = [alt.split("(")[0].split(":")[0].strip() for alt in relation.split("|")]
            if any(option in NOT_FOLLOWED for option in options):
                continue
            for option in options:
                target = option if option in installed else provides.get(option)
                if target:
                    todo.append(target)
                    break
            else:
                sys.exit(f"rootfs.py: {name} depends on {relation.strip()}, which is not installed")
    return sorted(chosen)


def inside(root, path):
    """path (absolute, in root's terms) with its folders' symbolic links resolved within root."""
    resolved = root
    parts = [p for p in path.split("/") if p]
    for i, part in enumerate(parts):
        candidate = os.path.join(resolved, part)
        last = i == len(parts) - 1
        hops = 0
        while not last and os.path.islink(candidate):
            target = os.readlink(candidate)
            base = root if target.startswith("/") else os.path.dirname(candidate)
            candidate = os.path.normpath(os.path.join(base, target.lstrip("/")))
            hops += 1
            if hops > 40 or not (candidate + "/").startswith(root.rstrip("/") + "/"):
                sys.exit(f"rootfs.py: {path} leaves the root through a symbolic link")
        resolved = candidate
    return resolved


def copy_entry(src_root, dst_root, path):
    """Copies one file, link or folder of src_root to the same place in dst_root."""
    src = inside(src_root, path)
    if not os.path.lexists(src):
        return  # a package's file that a maintainer script removed (diversions, alternatives)
    dst = inside(dst_root, path)
    info = os.lstat(src)
    if stat.S_ISDIR(info.st_mode):
        if not os.path.lexists(dst):
            os.makedirs(dst, exist_ok=True)
            os.chmod(dst, stat.S_IMODE(info.st_mode))
        return
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    if os.path.lexists(dst):
        return
    if stat.S_ISLNK(info.st_mode):
        os.symlink(os.readlink(src), dst)
    else:
        shutil.copy2(src, dst)
    # Python's byte code, which Debian compiles after installing: without it every start compiles
    # again, and cannot keep the result on a read-only root.
    if path.endswith(".py"):
        stem = os.path.basename(path)[:-3]
        cache = os.path.join(os.path.dirname(src), "__pycache__")
        if os.path.isdir(cache):
            for name in os.listdir(cache):
                if name.startswith(stem + ".") and name.endswith(".pyc"):
                    copy_entry(src_root, dst_root,
                               os.path.join(os.path.dirname(path), "__pycache__", name))


def alternatives(builder, out):
    """The links of update-alternatives (libblas.so.3 -> /etc/alternatives/... -> a BLAS), which
    maintainer scripts make and no package lists: for each link group whose choice is in out, the
    builder's selection, else the copied choice of highest priority."""
    folder = os.path.join(builder, "var/lib/dpkg/alternatives")
    for name in sorted(os.listdir(folder)) if os.path.isdir(folder) else []:
        with open(os.path.join(folder, name), encoding="utf-8") as f:
            lines = f.read().split("\n")
        master = lines[1]
        slaves = []
        i = 2
        while i + 1 < len(lines) and lines[i]:
            slaves.append((lines[i], lines[i + 1]))
            i += 2
        i += 1
        choices = []  # (priority, master target, [slave targets])
        while i + 1 < len(lines) and lines[i]:
            targets = lines[i + 2:i + 2 + len(slaves)]
            choices.append((int(lines[i + 1]), lines[i], targets))
            i += 2 + len(slaves)
        present = lambda path: path and os.path.lexists(inside(out, path))
        current = os.path.join(builder, "etc/alternatives", name)
        selected = os.readlink(current) if os.path.islink(current) else None
        usable = [c for c in choices if present(c[1])]
        if not usable:
            continue
        choice = next((c for c in usable if c[1] == selected), max(usable))
        groups = [(name, master, choice[1])] + [(slave, link, target)
                                               for (slave, link), target in zip(slaves, choice[2])]
        for alternative, link, target in groups:
            if not present(target):
                continue
            for path, points_to in ((f"/etc/alternatives/{alternative}", target),
                                    (link, f"/etc/alternatives/{alternative}")):
                dst = inside(out, path)
                os.makedirs(os.path.dirname(dst), exist_ok=True)
                if not os.path.lexists(dst):
                    os.symlink(points_to, dst)


def package_files(root, name, arch):
    info = os.path.join(root, "var/lib/dpkg/info")
    for candidate in (f"{name}:{arch}.list", f"{name}.list"):
        listing = os.path.join(info, candidate)
        if os.path.exists(listing):
            with open(listing, encoding="utf-8") as f:
                return [line.rstrip("\n") for line in f if line.strip()]
    sys.exit(f"rootfs.py: no file list for {name} in {info}")


def slim(builder, out, wanted):
    builder = os.path.realpath(builder)
    if os.path.exists(out):
        shutil.rmtree(out)
    os.makedirs(out)
    out = os.path.realpath(out)
    # The merged-/usr links first, so that /lib/... of a package lands in /usr/lib/....
    for name in sorted(os.listdir(builder)):
        if os.path.islink(os.path.join(builder, name)):
            os.symlink(os.readlink(os.path.join(builder, name)), os.path.join(out, name))
    installed = read_status(builder)
    chosen = closure(installed, wanted)
    for name in chosen:
        fields = installed[name][0]
        for path in package_files(builder, name, fields.get("Architecture", "all")):
            if path in ("/.", "/") or DROPPED.match(path):
                continue
            copy_entry(builder, out, path)
    alternatives(builder, out)
    # What maintainer scripts made: the CA bundle, the zone, the libraries' cache configuration.
    for path in ("/etc/ssl/certs", "/etc/localtime", "/etc/timezone", "/etc/ld.so.conf",
                 "/etc/ld.so.conf.d"):
        src = inside(builder, path)
        if os.path.isdir(src) and not os.path.islink(src):
            for folder, _, files in os.walk(src):
                rel = "/" + os.path.relpath(folder, builder)
                copy_entry(builder, out, rel)
                for f in files:
                    copy_entry(builder, out, os.path.join(rel, f))
        elif os.path.lexists(src):
            copy_entry(builder, out, path)
    for folder, mode in (("tmp", 0o1777), ("models", 0o755), ("etc", 0o755), ("proc", 0o555),
                         ("dev", 0o755), ("sys", 0o555), ("var/lib/dpkg", 0o755)):
        os.makedirs(os.path.join(out, folder), exist_ok=True)
        os.chmod(os.path.join(out, folder), mode)
    with open(os.path.join(out, "etc/passwd"), "w", encoding="utf-8") as f:
        f.write("root:x:0:0:root:/root:/sbin/nologin\n"
                f"ferry:x:{USER_ID}:{USER_ID}:ferry:/home/ferry:/sbin/nologin\n")
    with open(os.path.join(out, "etc/group"), "w", encoding="utf-8") as f:
        f.write(f"root:x:0:\nferry:x:{USER_ID}:\n")
    # systemd's "not yet set" value for images. It must be there: ONNX Runtime's release build
    # reads it when it makes a session and, where it is missing or empty, runs a shell command
    # instead (popen), then crashes in fclose(NULL) because the image has no shell.
    with open(os.path.join(out, "etc/machine-id"), "w", encoding="utf-8") as f:
        f.write("uninitialized\n")
    os.makedirs(os.path.join(out, "home/ferry"), exist_ok=True)
    os.chown(os.path.join(out, "home/ferry"), USER_ID, USER_ID)
    with open(os.path.join(out, "var/lib/dpkg/status"), "w", encoding="utf-8") as f:
        f.write("\n\n".join(installed[name][1] for name in chosen) + "\n")
    subprocess.run(["ldconfig", "-r", out], check=True)
    with open(out.rstrip("/") + ".packages", "w", encoding="utf-8") as f:
        for name in chosen:
            f.write(f"{name}={installed[name][0]['Version']}\n")


def main(argv):
    if len(argv) == 3 and argv[1] == "needs":
        print("\n".join(needs(argv[2])))
    elif len(argv) >= 5 and argv[1] == "slim":
        slim(argv[2], argv[3], argv[4:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
