#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""`ksign repair` before a real kernel: an installed kernel (a copy of the testbed's vmlinux
with its own ksign key put in by insert-sys-cert) whose modules are unsigned, signed with
another kernel's key, signed with DKMS's MOK key, compressed, already fine, and tampered. After
`ksign repair` the testbed kernel boots under qemu with module.sig_enforce=1 and loads every
repaired module; the tampered one, which repair left alone, is refused; the fine one, which it
did not touch, loads.

Environment as test_kernel.py (KSIGN, KSIGN_SOURCE_ROOT, KSIGN_TESTBED or KSIGN_TESTBED_OPTION).
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import test_kernel as tk  # noqa: E402  (the kernel suite's testbed, module, loader and boot)

RELEASE = "6.12.117-repair"
OTHER = "6.12.117-other"


def make_key(work, name, kind):
    """A key and certificate as the kernel's certs/Makefile makes them: NAME.key, NAME.crt, NAME.der."""
    newkey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:secp384r1"] if kind == "ec" else ["-newkey", "rsa:2048"]
    tk.run(["openssl", "req", "-new", "-nodes", "-utf8", "-sha512", "-days", "36500", "-batch", "-x509",
            "-subj", f"/CN=ksign repair test {name}", "-addext", "basicConstraints=critical,CA:FALSE",
            "-addext", "keyUsage=digitalSignature", "-addext", "subjectKeyIdentifier=hash", *newkey,
            "-keyout", work / f"{name}.key", "-out", work / f"{name}.crt"], f"making key {name}")
    tk.run(["openssl", "x509", "-in", work / f"{name}.crt", "-outform", "DER", "-out", work / f"{name}.der"],
           f"converting {name}")
    os.chmod(work / f"{name}.key", 0o600)


def install_kernel(moduledir, release, testbed, keys, key, trusted):
    """An installed kernel with `key` in its headers; its image trusts it when `trusted`."""
    root = moduledir / release
    store = root / "build/certs-local/2026-02-01_00-00-00"
    store.mkdir(parents=True)
    (root / "kernel").mkdir()
    (root / "updates/dkms").mkdir(parents=True)
    image = root / "build/vmlinux"
    shutil.copyfile(testbed / "vmlinux", image)
    shutil.copyfile(keys / f"{key}.der", store / "signing_crt.crt")
    (store / "signing_key.pem").write_bytes((keys / f"{key}.key").read_bytes() + (keys / f"{key}.crt").read_bytes())
    os.chmod(store / "signing_key.pem", 0o600)
    (root / "build/certs-local/current").symlink_to("2026-02-01_00-00-00")
    if trusted:
        tk.run([tk.insert_sys_cert(testbed), "-b", image, "-c", keys / f"{key}.der", "-s", testbed / "System.map"],
               f"insert-sys-cert {key} into {release}")
    return root


def main():
    found = tk.find_testbed()
    if not found:
        print("no testbed (KSIGN_TESTBED or -Dtestbed): skipped")
        return tk.EXIT_SKIP
    testbed, _ = found
    ksign = Path(os.environ["KSIGN"])
    source_root = Path(os.environ["KSIGN_SOURCE_ROOT"])
    work = Path(tempfile.mkdtemp(prefix="ksign-repair-"))
    problems = []
    try:
        tk.check_testbed(testbed)
        qemu = tk.find_program("qemu-system-x86_64", "QEMU")
        busybox = tk.find_busybox()
        zstd = tk.find_program("zstd")
        sign_file = next((p for p in sorted(Path("/usr/lib").glob("linux-kbuild-*/scripts/sign-file"))), None)
        if sign_file is None:
            raise tk.SetupError("no kernel sign-file (linux-kbuild) to sign the starting modules with")
        tree = tk.prepare_kernel_tree(testbed, work)
        plain = tk.build_module(tree, work)
        loader = tk.build_loader(source_root, work)

        keys = work / "keys"
        keys.mkdir()
        for name, kind in (("own", "ec"), ("other", "ec"), ("mok", "rsa")):
            make_key(keys, name, kind)
        moduledir = work / "modules"
        dkms = work / "dkms"
        dkms.mkdir()
        shutil.copyfile(keys / "mok.der", dkms / "mok.pub")
        root = install_kernel(moduledir, RELEASE, testbed, keys, "own", True)
        install_kernel(moduledir, OTHER, testbed, keys, "other", True)
        env = dict(os.environ, KSIGN_MODULEDIR=str(moduledir), KSIGN_BOOTDIR=str(work / "boot"),
                   KSIGN_CONFIG_DIR=str(work / "etc"), KSIGN_DKMS_TREE=str(dkms))

        def signed(path, key, cert):
            tk.run([sign_file, "sha512", key, cert, path], f"sign-file {path.name}")

        def module(name, suffix=".ko", where="kernel"):
            path = root / where / f"{tk.MODULE_NAME}_{name}{suffix}"
            shutil.copyfile(plain, path)
            return path

        cases = []

        def case(name, expect, path, compressed=False):
            cases.append(tk.Case(name=name, expect=expect, guest_file=path, compressed=compressed))

        case("unsigned", "loaded", module("unsigned"))
        p = module("other")
        signed(p, keys / "other.key", keys / "other.der")
        case("other-kernel-key", "loaded", p)
        p = module("mok", where="updates/dkms")
        signed(p, keys / "mok.key", keys / "mok.der")
        case("dkms-mok-key", "loaded", p)
        p = module("zst")
        tk.run([zstd, "-q", "--rm", p], "zstd")
        case("unsigned-zst", "loaded", Path(str(p) + ".zst"), compressed=True)
        p = module("fine")
        signed(p, testbed / "keys/trusted-ec.pem", testbed / "keys/trusted-ec.der")
        case("already-fine", "loaded", p)
        fine_before = (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
        p = module("tampered")
        signed(p, keys / "own.key", keys / "own.der")
        tk.flip_byte(p, 200)
        case("tampered", "bad-signature", p)
        tampered_before = p.read_bytes()

        process = subprocess.run([ksign, "repair", "--kernel", RELEASE, "--json"], env=env, capture_output=True,
                                 text=True)
        tk.log(process.stderr.strip())
        if process.returncode != 1:
            problems.append(f"ksign repair exited {process.returncode}, expected 1 (a tampered module)")
        plan = json.loads(process.stdout)
        actions = {Path(m["path"]).name: (m["action"], m.get("signed")) for m in plan["kernels"][0]["modules"]}
        tk.log(f"repair: {actions}")
        want = {f"{tk.MODULE_NAME}_unsigned.ko": ("sign", True), f"{tk.MODULE_NAME}_other.ko": ("sign", True),
                f"{tk.MODULE_NAME}_mok.ko": ("sign", True), f"{tk.MODULE_NAME}_zst.ko.zst": ("sign", True),
                f"{tk.MODULE_NAME}_tampered.ko": ("tampered", None)}
        if actions != want:
            problems.append(f"repair planned {actions}, expected {want}")
        fine = cases[4].guest_file
        if (hashlib.sha256(fine.read_bytes()).hexdigest(), fine.stat().st_mtime_ns) != fine_before:
            problems.append("repair touched the module the kernel already loads")
        if cases[5].guest_file.read_bytes() != tampered_before:
            problems.append("repair changed the tampered module")

        problems += tk.boot("repaired", root / "build/vmlinux", cases, work, qemu, loader, busybox, source_root)
        for c in cases:
            tk.judge_kernel(c)
            status = "ok" if not c.problems else "FAIL: " + "; ".join(c.problems)
            tk.log(f"  {c.name:<18} {c.expect:<14} {c.result:<8} {c.message:<16} {status}")
            problems += [f"{c.name}: {p}" for p in c.problems]
    except tk.SetupError as e:
        problems.append(str(e))
    if problems:
        tk.log("FAILED:\n  " + "\n  ".join(problems))
        tk.log(f"work directory kept: {work}")
        return 1
    shutil.rmtree(work, ignore_errors=True)
    tk.log("every repaired module loads; the tampered one is refused")
    return 0


if __name__ == "__main__":
    sys.exit(main())
