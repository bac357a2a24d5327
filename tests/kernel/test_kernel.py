#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The kernel suite: a real Linux built with MODULE_SIG_FORCE judges what ksign writes.

Builds a small module against the testbed kernel, signs variants of it with the built ksign,
boots the kernel under qemu (TCG) with an initramfs of busybox-static and a static loader
(loader.c), and asserts every module's outcome (loaded, or refused with the kernel message
that tells unsigned, untrusted key and bad signature apart). `ksign verify` must agree with
the kernel on every module. Two boots: the testbed kernel as built, and a copy of it with the
certificate of a `ksign keys` key inserted by insert-sys-cert.

Environment: KSIGN (the built binary), KSIGN_SOURCE_ROOT, and the testbed directory (laid out
like shared/testbed: vmlinux, System.map, config, keys/, bin/insert-sys-cert, build/) in
KSIGN_TESTBED or, from the meson option `testbed`, KSIGN_TESTBED_OPTION. Without one the
suite is skipped (exit 77); a broken testbed, a guest that never finishes or a missing result
line fails it. Optional: KSIGN_KERNEL_BOOT_TIMEOUT (seconds per boot, default 180),
KSIGN_KBUILD (a linux-kbuild directory with fixdep and modpost for the testbed's release),
KSIGN_BUSYBOX (a static busybox), QEMU (the qemu-system-x86_64 binary), CC.
"""

import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

EXIT_SKIP = 77
EKEYREJECTED = 129
MODULE_NAME = "ksignkt"
BOOT_TIMEOUT = int(os.environ.get("KSIGN_KERNEL_BOOT_TIMEOUT", "180"))
KERNEL_COMMAND_LINE = "console=ttyS0 module.sig_enforce=1 panic=-1"
MODULE_MAGIC = b"~Module signature appended~\n"

# What the kernel must do with a case, and what `ksign verify --json` must then say.
VERIFY_STATUS = {
    "loaded": "ok",
    "unsigned": "unsigned",
    "unavailable-key": "unknown_key",
    "bad-signature": "bad_signature",
    "authattrs": "signed_attributes",
}
ML_DSA_KEYS = ("trusted-mldsa44", "trusted-mldsa65", "trusted-mldsa87", "untrusted-mldsa65")

MODULE_SOURCE = f"""// SPDX-License-Identifier: GPL-2.0
#include <linux/init.h>
#include <linux/module.h>
static int __init {MODULE_NAME}_init(void) {{ pr_info("{MODULE_NAME}: loaded\\n"); return 0; }}
static void __exit {MODULE_NAME}_exit(void) {{ pr_info("{MODULE_NAME}: unloaded\\n"); }}
module_init({MODULE_NAME}_init);
module_exit({MODULE_NAME}_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("ksign kernel suite test module");
"""


class SetupError(Exception):
    """Something the whole suite needs is missing or broken: the suite fails."""


class CaseError(Exception):
    """Preparing one case failed (a ksign command, usually): that case fails."""


def log(message=""):
    print(message, flush=True)


def run(args, what, error=SetupError, **kwargs):
    """Runs `args`; raises `error` naming `what` with the command's stderr when it fails."""
    process = subprocess.run([str(a) for a in args], capture_output=True, text=True, **kwargs)
    if process.returncode != 0:
        output = (process.stderr or process.stdout).strip()
        raise error(f"{what}: '{' '.join(str(a) for a in args)}' exited {process.returncode}: {output[-3000:]}")
    return process


@dataclass
class Case:
    name: str
    expect: str  # loaded, unsigned, unavailable-key, bad-signature or authattrs (7.x)
    boot: str = "stock"  # stock, patched or waiver (7.x: vmlinux-waiver)
    guest_file: Path | None = None  # what the guest loads
    compressed: bool = False  # load with MODULE_INIT_COMPRESSED_FILE
    verify_files: list = field(default_factory=list)
    trusted_certs: list = field(default_factory=list)  # what the booted kernel trusts
    kernel_config: Path | None = None  # the booted kernel's .config, for `ksign verify --config`
    verify_status: str | None = None  # what `ksign verify` must say, when not VERIFY_STATUS[expect]
    signature: tuple | None = None  # (hash, "issuer" or "skid") its PKCS#7 must name, per openssl
    problems: list = field(default_factory=list)
    result: str = "-"
    errno: int | None = None
    message: str = "-"
    unload: str = "-"
    verdicts: list = field(default_factory=list)
    kernel_log: list = field(default_factory=list)


# ---------------------------------------------------------------- the testbed and tools


def find_testbed():
    """The testbed directory, or None when none is configured."""
    for variable in ("KSIGN_TESTBED", "KSIGN_TESTBED_OPTION"):
        value = os.environ.get(variable, "")
        if value:
            return Path(value).resolve(), variable
    return None


def insert_sys_cert(testbed):
    """The kernel's insert-sys-cert: bin/ in shared/testbed, the build tree's scripts/ in testbed-7."""
    for candidate in ("bin/insert-sys-cert", "build/scripts/insert-sys-cert"):
        if (testbed / candidate).is_file():
            return testbed / candidate
    return None


def check_testbed(testbed):
    required = ["vmlinux", "System.map", "config", "build/Makefile",
                "build/Module.symvers", "build/include/config/kernel.release"]
    for key in ("trusted-rsa", "trusted-ec", "untrusted-ec"):
        required += [f"keys/{key}.pem", f"keys/{key}.crt", f"keys/{key}.der"]
    missing = [name for name in required if not (testbed / name).is_file()]
    if not insert_sys_cert(testbed):
        missing.append("bin/insert-sys-cert (or build/scripts/insert-sys-cert)")
    if missing:
        raise SetupError(f"testbed '{testbed}' is incomplete: missing {', '.join(missing)}")
    config = (testbed / "config").read_text()
    for option in ("CONFIG_MODULE_SIG_FORCE=y", "CONFIG_MODULE_UNLOAD=y", "CONFIG_MODULE_DECOMPRESS=y"):
        if option not in config.splitlines():
            raise SetupError(f"testbed '{testbed}': its config lacks {option}")


def find_program(name, variable=None):
    path = os.environ.get(variable, "") if variable else ""
    path = path or shutil.which(name)
    if not path:
        raise SetupError(f"'{name}' not found (install it; .ci/run does)")
    return Path(path)


def is_static_elf(path):
    """True when the ELF file `path` has no program interpreter (PT_INTERP)."""
    data = path.read_bytes()
    if data[:4] != b"\x7fELF" or data[4] != 2:
        return False
    phoff, = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    return all(struct.unpack_from("<I", data, phoff + i * phentsize)[0] != 3 for i in range(phnum))


def find_busybox():
    candidates = [os.environ.get("KSIGN_BUSYBOX", ""), "/bin/busybox", "/usr/bin/busybox"]
    for candidate in filter(None, candidates):
        path = Path(candidate)
        if path.is_file() and is_static_elf(path):
            return path
    raise SetupError("no statically linked busybox found (install busybox-static)")


def find_kbuild(release):
    """A Debian linux-kbuild directory whose host tools (fixdep, modpost) fit `release`."""
    if os.environ.get("KSIGN_KBUILD"):
        kbuild = Path(os.environ["KSIGN_KBUILD"])
        if not (kbuild / "scripts/basic/fixdep").exists() or not (kbuild / "scripts/mod/modpost").exists():
            raise SetupError(f"KSIGN_KBUILD '{kbuild}' has no scripts/basic/fixdep and scripts/mod/modpost")
        return kbuild
    series = ".".join(release.split(".")[:2])
    for pattern in (f"linux-kbuild-{release}+*", f"linux-kbuild-{release}", f"linux-kbuild-{series}.*",
                    f"linux-kbuild-{series}"):
        for candidate in sorted(Path("/usr/lib").glob(pattern), reverse=True):
            if (candidate / "scripts/mod/modpost").exists():
                return candidate
    raise SetupError(f"the testbed's build tree has no fixdep/modpost, and no linux-kbuild for {release} "
                     f"is installed (apt-get install linux-kbuild-{release}+deb12, or set KSIGN_KBUILD)")


def prepare_kernel_tree(testbed, work):
    """A tree to build modules against: a writable shadow (symlinks) of the testbed's build/,
    which may be read-only, completed with the generated files a copy that honours .gitignore
    loses: fixdep and modpost from linux-kbuild, and scripts/module.lds."""
    build = testbed / "build"
    release = (build / "include/config/kernel.release").read_text().strip()
    tree = work / "kernel-tree"
    shutil.copytree(build, tree, symlinks=True, copy_function=os.symlink)
    if not (tree / "scripts/basic/fixdep").exists() or not (tree / "scripts/mod/modpost").exists():
        kbuild = find_kbuild(release)
        for tool in ["scripts/basic/fixdep"] + [str(p.relative_to(kbuild)) for p in
                                                 (kbuild / "scripts/mod").glob("modpost*")]:
            target = tree / tool
            if target.exists() or target.is_symlink():
                target.unlink()
            target.symlink_to(kbuild / tool)
    if not (tree / "scripts/module.lds").exists():
        # What scripts/Makefile.build's cpp_lds_S does, with the tree's own headers and config.
        includes = []
        for directory in ("arch/x86/include", "arch/x86/include/generated", "include", "include/generated",
                          "arch/x86/include/uapi", "arch/x86/include/generated/uapi", "include/uapi",
                          "include/generated/uapi"):
            includes += ["-I", directory]
        run([os.environ.get("CC", "gcc"), "-E", "-P", "-nostdinc", "-Ux86", "-D__ASSEMBLY__", "-DLINKER_SCRIPT",
             "-D__KERNEL__", *includes, "-include", "include/linux/compiler-version.h", "-include",
             "include/linux/kconfig.h", "-x", "c", "-o", "scripts/module.lds", "scripts/module.lds.S"],
            "generating scripts/module.lds", cwd=tree)
    return tree


def build_module(tree, work):
    directory = work / "module"
    directory.mkdir()
    (directory / f"{MODULE_NAME}.c").write_text(MODULE_SOURCE)
    (directory / "Makefile").write_text(f"obj-m := {MODULE_NAME}.o\n")
    run(["make", "-s", "-C", tree, f"M={directory}", "modules"], "building the test module")
    module = directory / f"{MODULE_NAME}.ko"
    if not module.is_file():
        raise SetupError(f"building the test module made no '{module}'")
    return module


def build_loader(source_root, work):
    loader = work / "loader"
    run([os.environ.get("CC", "cc"), "-static", "-O2", "-std=c11", "-Wall", "-Wextra", "-Wpedantic", "-Werror",
         "-o", loader, source_root / "tests/kernel/loader.c"], "building the static loader")
    return loader


# ---------------------------------------------------------------- the cases


class Signer:
    """Makes the signed variants, each in its own file under `directory`."""

    def __init__(self, ksign, plain, directory):
        self.ksign = ksign
        self.plain = plain
        self.directory = directory
        directory.mkdir()

    def copy(self, name, suffix=".ko"):
        path = self.directory / f"{name}{suffix}"
        shutil.copyfile(self.plain, path)
        return path

    def ksign_sign(self, path, key, cert=None, hash_name=None, extra=()):
        args = [self.ksign, "sign", "--key", key]
        if cert:
            args += ["--cert", cert]
        if hash_name:
            args += ["--hash", hash_name]
        run(args + list(extra) + [path], "ksign sign", CaseError)
        return path

    def compressed(self, name, tool, args):
        """`name`.ko compressed by `tool` into `name`.ko.<suffix>."""
        suffix = {"zstd": ".zst", "gzip": ".gz", "xz": ".xz"}[tool]
        path = self.copy(name)
        run([tool, *args, path], f"compressing with {tool}", CaseError)
        compressed = path.with_name(path.name + suffix)
        if not compressed.is_file():
            raise CaseError(f"{tool} made no '{compressed}'")
        return compressed

    def decompressed(self, path, tool):
        out = path.with_name(path.name.split(".ko")[0] + ".ko")  # the compressor removed the original
        with open(out, "wb") as sink:
            process = subprocess.run([tool, "-dc", str(path)], stdout=sink, stderr=subprocess.PIPE)
        if process.returncode != 0:
            raise CaseError(f"{tool} -dc '{path}' failed: {process.stderr.decode(errors='replace')}")
        return out


def flip_byte(path, offset):
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


def private_key_copies(testbed, work):
    """The testbed's keys, with the private ones (.pem) readable by their owner only."""
    keys = work / "testbed-keys"
    keys.mkdir(exist_ok=True)
    for source in (testbed / "keys").iterdir():
        copy = keys / source.name
        copy.unlink(missing_ok=True)
        copy.write_bytes(source.read_bytes())
        copy.chmod(0o600 if source.suffix == ".pem" else 0o644)
    return keys


def has_ml_dsa(testbed):
    """A kernel-7 testbed: ML-DSA keys it trusts (testbed-7's keys/trusted-mldsa*)."""
    return all((testbed / "keys" / f"{name}.pem").is_file() for name in ML_DSA_KEYS)


def with_signed_attributes(openssl, path, key, cert, hash_name):
    """Signs `path` the way CMS does by default (signed attributes: contentType, messageDigest,
    signingTime, S/MIME capabilities) and appends the kernel's trailer: a form every kernel
    refuses for RSA and ECDSA."""
    content = path.read_bytes()
    process = subprocess.run([str(openssl), "cms", "-sign", "-binary", "-nocerts", "-outform", "DER", "-md",
                              hash_name, "-signer", str(cert), "-inkey", str(key)], input=content,
                             capture_output=True)
    if process.returncode != 0:
        raise CaseError(f"openssl cms -sign: {process.stderr.decode(errors='replace')[-500:]}")
    cms = process.stdout
    # struct module_signature: algo, hash, id_type (2: PKCS#7), signer_len, key_id_len, pad[3], be32 sig_len
    path.write_bytes(content + cms + struct.pack(">BBBBB3xI", 0, 0, 2, 0, 0, len(cms)) + MODULE_MAGIC)
    return path


def make_cases(ksign, plain, work, testbed, sign_file, key_store_cert, key_store_error, openssl):
    # The testbed's keys are read-only copies anyone can read; ksign refuses private keys that
    # group or others can read (the ssh rule), so the cases sign with private copies.
    keys = private_key_copies(testbed, work)
    names = ("trusted-rsa", "trusted-ec", "untrusted-ec") + (ML_DSA_KEYS if has_ml_dsa(testbed) else ())
    key = {name: keys / f"{name}.pem" for name in names}
    cert = {name: keys / f"{name}.crt" for name in key}
    stock_trust = [cert["trusted-rsa"], cert["trusted-ec"]] + \
        [cert[name] for name in ML_DSA_KEYS if name.startswith("trusted") and name in cert]
    signer = Signer(ksign, plain, work / "cases")
    cases = []
    config = {"stock": testbed / "config", "patched": testbed / "config", "waiver": testbed / "config-waiver"}

    def add(name, expect, prepare, boot="stock", compressed=False, trust=None, signature=None, verify_status=None):
        case = Case(name, expect, boot, compressed=compressed, trusted_certs=trust or stock_trust,
                    signature=signature, kernel_config=config[boot], verify_status=verify_status)
        try:
            result = prepare(name)
            case.guest_file, case.verify_files = result if isinstance(result, tuple) else (result, [result])
        except CaseError as error:
            case.problems.append(str(error))
        cases.append(case)

    # Loads: both key types, the SHA-2 family, SHA-3 with RSA and with EC.
    for key_type, key_name in (("rsa", "trusted-rsa"), ("ec", "trusted-ec")):
        for hash_name in ("sha256", "sha384", "sha512", "sha3-384", "sha3-512"):
            add(f"{key_type}-{hash_name}", "loaded",
                lambda name, k=key_name, h=hash_name: signer.ksign_sign(signer.copy(name), key[k], cert[k], h),
                signature=(hash_name, "issuer"))
    add("rsa-sha512-keyid", "loaded", lambda name: signer.ksign_sign(
        signer.copy(name), key["trusted-rsa"], cert["trusted-rsa"], "sha512", ["--keyid"]), signature=("sha512", "skid"))
    add("ec-sha384-keyid", "loaded", lambda name: signer.ksign_sign(
        signer.copy(name), key["trusted-ec"], cert["trusted-ec"], "sha384", ["--keyid"]), signature=("sha384", "skid"))

    def resigned(name):
        path = signer.copy(name)
        if sign_file:  # a foreign signature first: the kernel's own sign-file
            run([sign_file, "sha256", key["untrusted-ec"], cert["untrusted-ec"], path], "sign-file", CaseError)
        else:
            signer.ksign_sign(path, key["untrusted-ec"], cert["untrusted-ec"], "sha256")
        if not path.read_bytes().endswith(MODULE_MAGIC):
            raise CaseError("the first signature left no module signature trailer")
        signer.ksign_sign(path, key["trusted-rsa"], cert["trusted-rsa"], "sha512")
        # Replaced, not stacked: a second signature over the first would load too.
        if path.read_bytes().count(MODULE_MAGIC) != 1:
            raise CaseError("re-signing left more than one signature in the module")
        return path
    add("resigned", "loaded", resigned, signature=("sha512", "issuer"))

    # Compressed modules: the kernel decompresses zstd itself; gzip and xz are decompressed here.
    add("zst-kernel-decompressed", "loaded", lambda name: signer.ksign_sign(
        signer.compressed(name, "zstd", ["-q", "--rm"]), key["trusted-ec"], cert["trusted-ec"], "sha512"),
        compressed=True)

    def decompressed_here(name, tool, args):
        signed = signer.ksign_sign(signer.compressed(name, tool, args), key["trusted-rsa"], cert["trusted-rsa"],
                                   "sha256")
        plain_copy = signer.decompressed(signed, tool)
        return plain_copy, [signed, plain_copy]
    add("gz-decompressed", "loaded", lambda name: decompressed_here(name, "gzip", ["-9", "-n"]),
        signature=("sha256", "issuer"))
    add("xz-decompressed", "loaded", lambda name: decompressed_here(name, "xz", ["--check=crc32"]),
        signature=("sha256", "issuer"))

    # The sign-file drop-in, as `ksign sign-file` and as a symlink named sign-file (with a dest).
    def sign_file_dropin(name):
        path = signer.copy(name)
        run([ksign, "sign-file", "sha384", key["trusted-ec"], cert["trusted-ec"], path], "ksign sign-file",
            CaseError)
        return path
    add("sign-file-dropin", "loaded", sign_file_dropin, signature=("sha384", "issuer"))

    def sign_file_symlink(name):
        link = work / "bin/sign-file"
        link.parent.mkdir(exist_ok=True)
        if not link.is_symlink():
            link.symlink_to(ksign)
        source = signer.copy(name + "-unsigned")
        dest = signer.directory / f"{name}.ko"
        run([link, "sha512", key["trusted-rsa"], cert["trusted-rsa"], source, dest], "sign-file (symlink to ksign)",
            CaseError)
        return dest
    add("sign-file-symlink", "loaded", sign_file_symlink, signature=("sha512", "issuer"))

    # Refusals, each for its own reason.
    add("unsigned", "unsigned", signer.copy)
    add("untrusted-key", "unavailable-key", lambda name: signer.ksign_sign(
        signer.copy(name), key["untrusted-ec"], cert["untrusted-ec"], "sha384"))

    def tampered(name):
        path = signer.ksign_sign(signer.copy(name), key["trusted-rsa"], cert["trusted-rsa"], "sha512")
        flip_byte(path, plain.stat().st_size // 2)  # inside the module, after signing
        return path
    add("tampered-module", "bad-signature", tampered)

    def corrupt_signature(name):
        path = signer.ksign_sign(signer.copy(name), key["trusted-rsa"], cert["trusted-rsa"], "sha512")
        # The RSA signature value ends the PKCS#7 blob, just before the 12-byte module_signature
        # and the 28-byte magic: a byte in it changes, the DER stays well-formed.
        flip_byte(path, path.stat().st_size - 40 - 64)
        return path
    add("corrupt-signature", "bad-signature", corrupt_signature)

    # The key flow: a `ksign keys` key from the testbed's config, trusted only by a patched kernel.
    def key_flow(name):
        if key_store_error:
            raise CaseError(key_store_error)
        path = signer.copy(name)
        run([ksign, "sign", "--keydir", work / "keys", path], "ksign sign --keydir", CaseError)
        return path
    # The testbed's config says MODULE_SIG_SHA512: the key store's khash must carry that to sign.
    add("keyflow-unpatched", "unavailable-key", key_flow, signature=("sha512", "issuer"))
    if key_store_cert:
        patched_trust = stock_trust + [key_store_cert]
        add("keyflow-patched", "loaded", key_flow, boot="patched", trust=patched_trust,
            signature=("sha512", "issuer"))
        add("patched-rsa-sha512", "loaded", lambda name: signer.ksign_sign(
            signer.copy(name), key["trusted-rsa"], cert["trusted-rsa"], "sha512"), boot="patched", trust=patched_trust)
    else:
        add("keyflow-patched", "loaded", key_flow, boot="patched")
    if "trusted-mldsa65" in key:
        add_kernel_7_cases(add, signer, key, cert, testbed, ksign, openssl)
        add_pkcs11_cases(add, signer, cert, testbed, work, ksign)
    return cases


SOFTHSM_MODULE = Path("/usr/lib/softhsm/libsofthsm2.so")
TOKEN_PIN = "1234"


def make_token(work, keys):
    """A SoftHSM2 token holding the testbed's trusted RSA and EC keys (and the RSA certificate), so
    that the stock kernel judges modules signed from a token. Returns the environment ksign needs."""
    for tool in ("softhsm2-util", "pkcs11-tool"):
        if not shutil.which(tool):
            raise CaseError(f"'{tool}' not found (install softhsm2 and opensc)")
    if not SOFTHSM_MODULE.is_file():
        raise CaseError(f"'{SOFTHSM_MODULE}' not found (install softhsm2)")
    tokens = work / "tokens"
    tokens.mkdir()
    conf = work / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {tokens}\nobjectstore.backend = file\n")
    env = dict(os.environ, SOFTHSM2_CONF=str(conf), KSIGN_PKCS11_MODULE=str(SOFTHSM_MODULE),
               KBUILD_SIGN_PIN=TOKEN_PIN)
    run(["softhsm2-util", "--init-token", "--free", "--label", "ksign", "--pin", TOKEN_PIN, "--so-pin", "123456"],
        "softhsm2-util --init-token", CaseError, env=env)
    for label, ident in (("rsa", "01"), ("ec", "02")):
        run(["softhsm2-util", "--import", keys / f"trusted-{label}.pem", "--token", "ksign", "--label", label,
             "--id", ident, "--pin", TOKEN_PIN], f"importing the {label} key into the token", CaseError, env=env)
    run(["pkcs11-tool", "--module", SOFTHSM_MODULE, "--token-label", "ksign", "--login", "--pin", TOKEN_PIN,
         "--write-object", keys / "trusted-rsa.der", "--type", "cert", "--label", "rsa", "--id", "01"],
        "storing the RSA certificate in the token", CaseError, env=env)
    return env


def add_pkcs11_cases(add, signer, cert, testbed, work, ksign):
    """Keys that never touch the disk: modules signed from a SoftHSM2 token through the pkcs11
    provider, judged by the kernel that trusts those keys."""
    token = {}

    def environment():
        if "env" not in token:
            try:
                token["env"] = make_token(work, testbed / "keys")
            except CaseError as error:
                token["env"] = error
        if isinstance(token["env"], CaseError):
            raise token["env"]
        return token["env"]

    def signed(name, args):
        path = signer.copy(name)
        run([ksign, *args, path], "ksign with a pkcs11: key", CaseError, env=environment())
        return path
    rsa_uri = "pkcs11:token=ksign;object=rsa;type=private"
    add("pkcs11-rsa-cert-from-token", "loaded", lambda name: signed(name, ["sign", "--key", rsa_uri]),
        signature=("sha512", "issuer"))
    add("pkcs11-ec-p384", "loaded", lambda name: signed(
        name, ["sign", "--hash", "sha384", "--key", "pkcs11:token=ksign;object=ec;type=private",
               "--cert", cert["trusted-ec"]]), signature=("sha384", "issuer"))

    def sign_file(name):
        path = signer.copy(name)
        run([ksign, "sign-file", "sha256", rsa_uri, testbed / "keys/trusted-rsa.der", path],
            "ksign sign-file with a pkcs11: key", CaseError, env=environment())
        return path
    add("pkcs11-rsa-sign-file", "loaded", sign_file, signature=("sha256", "issuer"))


def add_kernel_7_cases(add, signer, key, cert, testbed, ksign, openssl):
    """Linux 7.x: ML-DSA signed by ksign (directly over the module: loads without the waiver),
    kernel 7.2's own sign-file (signed attributes: refused unless the kernel has the waiver), and
    signed attributes with RSA/ECDSA (refused by both kernels, without a message: 7.2 names
    "has authattrs" only for ML-DSA)."""
    for level in ("44", "65", "87"):
        add(f"mldsa{level}", "loaded", lambda name, k=f"trusted-mldsa{level}": signer.ksign_sign(
            signer.copy(name), key[k], cert[k]), signature=("sha512", "issuer"))
    mldsa = "trusted-mldsa65"
    add("mldsa65-keyid", "loaded", lambda name: signer.ksign_sign(
        signer.copy(name), key[mldsa], cert[mldsa], extra=["--keyid"]), signature=("sha512", "skid"))
    add("mldsa65-zst-kernel-decompressed", "loaded", lambda name: signer.ksign_sign(
        signer.compressed(name, "zstd", ["-q", "--rm"]), key[mldsa], cert[mldsa]), compressed=True)

    def dropin(name):
        path = signer.copy(name)
        run([ksign, "sign-file", "sha512", key[mldsa], cert[mldsa], path], "ksign sign-file", CaseError)
        return path
    add("mldsa65-sign-file-dropin", "loaded", dropin, signature=("sha512", "issuer"))

    kernel_sign_file = testbed / "build/scripts/sign-file"

    def by_kernel_sign_file(name):
        if not os.access(kernel_sign_file, os.X_OK):
            raise CaseError(f"'{kernel_sign_file}' is missing")
        path = signer.copy(name)
        run([kernel_sign_file, "sha512", key[mldsa], testbed / "keys" / f"{mldsa}.der", path],
            "kernel 7.2's sign-file", CaseError)
        return path
    add("mldsa65-kernel-sign-file", "authattrs", by_kernel_sign_file)
    add("mldsa65-kernel-sign-file-waiver", "loaded", by_kernel_sign_file, boot="waiver")

    def resigned(name):
        path = by_kernel_sign_file(name)
        return signer.ksign_sign(path, key[mldsa], cert[mldsa])
    add("mldsa65-resigned-over-sign-file", "loaded", resigned, signature=("sha512", "issuer"))

    add("mldsa65-untrusted-key", "unavailable-key", lambda name: signer.ksign_sign(
        signer.copy(name), key["untrusted-mldsa65"], cert["untrusted-mldsa65"]))

    def tampered(name):
        path = signer.ksign_sign(signer.copy(name), key[mldsa], cert[mldsa])
        flip_byte(path, signer.plain.stat().st_size // 2)
        return path
    add("mldsa65-tampered-module", "bad-signature", tampered)

    def corrupt_signature(name):
        path = signer.ksign_sign(signer.copy(name), key[mldsa], cert[mldsa])
        flip_byte(path, path.stat().st_size - 40 - 64)  # inside the 3309-byte ML-DSA-65 signature
        return path
    add("mldsa65-corrupt-signature", "bad-signature", corrupt_signature)

    for key_type, hash_name, boot in (("rsa", "sha256", "stock"), ("ec", "sha384", "stock"),
                                      ("rsa", "sha256", "waiver")):
        add(f"{key_type}-signed-attributes-{boot}", "bad-signature", lambda name, k=f"trusted-{key_type}", h=hash_name:
            with_signed_attributes(openssl, signer.copy(name), key[k], cert[k], h), boot=boot,
            verify_status="signed_attributes")
    add("mldsa65-waiver-kernel", "loaded", lambda name: signer.ksign_sign(
        signer.copy(name), key[mldsa], cert[mldsa]), boot="waiver", signature=("sha512", "issuer"))


def make_key_store(ksign, testbed, work):
    """Runs `ksign keys` for the testbed's config; returns (certificate DER, None) or (None, why)."""
    store = work / "keys"
    # ksign keys also records its certificate in the config it reads: give it a writable copy.
    config = work / "config"
    shutil.copyfile(testbed / "config", config)
    config.chmod(0o644)
    try:
        run([ksign, "keys", "--dir", store, "--config", config], "ksign keys", CaseError)
    except CaseError as error:
        return None, str(error)
    cert = store / "current/signing_crt.crt"
    if not cert.is_file():
        return None, f"ksign keys --dir '{store}' made no current/signing_crt.crt (DER certificate)"
    # The kernel's built-in keys are DER; insert-sys-cert copies the file as it is.
    if cert.read_bytes()[:1] != b"\x30":
        return None, f"'{cert}' is not a DER certificate"
    return cert, None


# ---------------------------------------------------------------- the guest


def write_cpio(path, entries):
    """A newc cpio archive of `entries`: (name, mode, data bytes or None, (major, minor) or None)."""
    with open(path, "wb") as out:
        def header(inode, name, mode, size, rdev):
            encoded = name.encode() + b"\0"
            fields = [inode, mode, 0, 0, 1, 0, size, 0, 0, rdev[0], rdev[1], len(encoded), 0]
            out.write(b"070701" + b"".join(b"%08X" % value for value in fields) + encoded)
            out.write(b"\0" * (-(110 + len(encoded)) % 4))
        for inode, (name, mode, data, rdev) in enumerate(entries, start=1):
            header(inode, name, mode, len(data or b""), rdev or (0, 0))
            if data:
                out.write(data)
                out.write(b"\0" * (-len(data) % 4))
        header(0, "TRAILER!!!", 0, 0, (0, 0))


def make_initramfs(path, cases, loader, busybox, source_root):
    directory, regular, executable, char_device = 0o040755, 0o100644, 0o100755, 0o020600
    entries = [(name, directory, None, None) for name in ("dev", "bin", "proc", "sys", "modules")]
    entries.append(("dev/console", char_device, None, (5, 1)))
    entries.append(("init", executable, (source_root / "tests/kernel/init.sh").read_bytes(), None))
    entries.append(("loader", executable, loader.read_bytes(), None))
    entries.append(("bin/busybox", executable, busybox.read_bytes(), None))
    lines = []
    for case in cases:
        suffix = ".ko.zst" if case.compressed else ".ko"
        lines.append(f"{case.name} {case.name}{suffix} {'compressed' if case.compressed else 'plain'} {MODULE_NAME}\n")
        entries.append((f"modules/{case.name}{suffix}", regular, case.guest_file.read_bytes(), None))
    entries.append(("modules/list", regular, "".join(lines).encode(), None))
    write_cpio(path, entries)


RESULT_LINE = re.compile(r"RESULT (\S+) (loaded|refused|error) errno=(\d+) msg=(\S+)")
UNLOAD_LINE = re.compile(r"UNLOAD (\S+) (ok|errno=\d+)")
KMSG_LINE = re.compile(r"KMSG (\S+) (.*)")


def boot(label, kernel, cases, work, qemu, loader, busybox, source_root):
    """Boots `kernel` with `cases` in the initramfs and files each case's outcome into it.
    Returns the problems of the boot as a whole."""
    initramfs = work / f"initramfs-{label}.cpio"
    make_initramfs(initramfs, cases, loader, busybox, source_root)
    console = work / f"console-{label}.log"
    command = [str(qemu), "-accel", "tcg", "-cpu", "max", "-m", "256M", "-nographic", "-monitor", "none",
               "-no-reboot", "-net", "none", "-kernel", str(kernel), "-initrd", str(initramfs),
               "-append", KERNEL_COMMAND_LINE]
    problems = []
    started = time.monotonic()
    with open(console, "wb") as out:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
        try:
            status = process.wait(timeout=BOOT_TIMEOUT)
            if status != 0:
                problems.append(f"qemu exited {status}")
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            problems.append(f"the guest did not finish within {BOOT_TIMEOUT} s")
    elapsed = time.monotonic() - started
    text = console.read_bytes().decode(errors="replace").replace("\r", "")
    log(f"boot '{label}': {len(cases)} modules, {elapsed:.1f} s, console log in {console}")

    start = re.search(r"KSIGN-GUEST-START (\S+) sig_enforce=(\S+)", text)
    if not start:
        problems.append("the guest never started the loader (no KSIGN-GUEST-START line)")
    elif start.group(2) != "Y":
        problems.append(f"the guest runs with sig_enforce={start.group(2)}, not Y")
    if "KSIGN-GUEST-END" not in text:
        problems.append("the guest never reached the end of its module list (no KSIGN-GUEST-END line)")

    by_name = {case.name: case for case in cases}
    for line in text.splitlines():
        if match := RESULT_LINE.search(line):
            case = by_name.get(match.group(1))
            if case:
                case.result, case.errno, case.message = match.group(2), int(match.group(3)), match.group(4)
        elif match := UNLOAD_LINE.search(line):
            if case := by_name.get(match.group(1)):
                case.unload = match.group(2)
        elif match := KMSG_LINE.search(line):
            if case := by_name.get(match.group(1)):
                case.kernel_log.append(match.group(2))
    if problems:
        log(f"---- console of boot '{label}' (tail) ----\n{text[-4000:]}\n----")
    return [f"boot '{label}': {problem}" for problem in problems]


# ---------------------------------------------------------------- the verdicts


def judge_kernel(case):
    """Checks what the kernel did with `case` against what it must do."""
    if case.result == "-":
        case.problems.append("no RESULT line from the guest")
        return
    if case.result == "error":
        case.problems.append(f"the loader failed: errno={case.errno} {case.message}")
        return
    if case.expect == "loaded":
        if case.result != "loaded":
            case.problems.append(f"the kernel refused it (errno {case.errno}, message {case.message}): "
                                 f"{' | '.join(case.kernel_log)}")
        elif f"{MODULE_NAME}: loaded" not in case.kernel_log:
            case.problems.append("the kernel reports a load but the module's init message is not in its log")
        elif case.unload != "ok":
            case.problems.append(f"it loaded but did not unload ({case.unload})")
        return
    expected_message = {"bad-signature": "none"}.get(case.expect, case.expect)
    if case.result != "refused":
        case.problems.append(f"the kernel loaded it, expected a refusal ({case.expect})")
    elif case.errno != EKEYREJECTED:
        case.problems.append(f"refused with errno {case.errno}, expected {EKEYREJECTED} (EKEYREJECTED)")
    elif case.message != expected_message:
        case.problems.append(f"refused with kernel message class '{case.message}', expected '{expected_message}'")


def judge_verify(ksign, case, image):
    """`ksign verify` must say what the kernel did, twice: trusting the certificates the booted
    kernel was built with (--cert), and reading them from the booted image itself (--image)."""
    want = case.verify_status or VERIFY_STATUS[case.expect]
    trusted = [arg for cert in case.trusted_certs for arg in ("--cert", str(cert))]
    for path, trust in [(path, trust) for path in case.verify_files for trust in (trusted, ["--image", str(image)])]:
        args = [str(ksign), "verify", "--json", *trust]
        if case.kernel_config:
            args += ["--config", str(case.kernel_config)]
        process = subprocess.run(args + [str(path)], capture_output=True, text=True)
        try:
            status = json.loads(process.stdout)["modules"][0]["status"]
        except (ValueError, KeyError, IndexError, TypeError):
            case.problems.append(f"ksign verify '{path.name}' printed no JSON verdict (exit {process.returncode}): "
                                 f"{(process.stderr or process.stdout).strip()[-500:]}")
            continue
        case.verdicts.append(status)
        if status != want:
            case.problems.append(f"ksign verify {trust[0]} says {status} for '{path.name}', the kernel says {case.expect}")
        if (process.returncode == 0) != (want == "ok"):
            case.problems.append(f"ksign verify '{path.name}' exited {process.returncode} with verdict {status}")


def judge_signature(openssl, case):
    """openssl, an independent reader, must find the hash and signer identifier asked for in the
    PKCS#7 that ksign appended: the case must test what its name says."""
    if not case.signature or case.compressed:
        return
    want_hash, want_sid = case.signature
    data = case.guest_file.read_bytes()
    if not data.endswith(MODULE_MAGIC):
        case.problems.append("no module signature trailer")
        return
    # struct module_signature: algo, hash, id_type, signer_len, key_id_len, pad[3], be32 sig_len.
    sig_len, = struct.unpack(">I", data[-len(MODULE_MAGIC) - 4:-len(MODULE_MAGIC)])
    end = len(data) - len(MODULE_MAGIC) - 12
    process = subprocess.run([str(openssl), "cms", "-inform", "DER", "-cmsout", "-print"],
                             input=data[end - sig_len:end], capture_output=True)
    text = process.stdout.decode(errors="replace")
    signer_info = text.partition("signerInfos:")[2]
    digest = re.search(r"digestAlgorithm:\s*algorithm: (\S+)", signer_info)
    sid = re.search(r"d\.(subjectKeyIdentifier|issuerAndSerialNumber)", signer_info)
    if process.returncode != 0 or not digest or not sid:
        case.problems.append(f"openssl cannot read its PKCS#7: {process.stderr.decode(errors='replace')[-500:]}")
        return
    got_sid = "skid" if sid.group(1) == "subjectKeyIdentifier" else "issuer"
    if (digest.group(1), got_sid) != (want_hash, want_sid):
        case.problems.append(f"its PKCS#7 says {digest.group(1)}/{got_sid}, expected {want_hash}/{want_sid}")


# ---------------------------------------------------------------- main


def main():
    started = time.monotonic()
    found = find_testbed()
    if not found:
        print("SKIP: no testbed kernel: set KSIGN_TESTBED (or meson configure -Dtestbed=DIR) to a directory "
              "laid out like shared/testbed (vmlinux, System.map, config, keys/, bin/, build/)", file=sys.stderr)
        return EXIT_SKIP
    testbed, variable = found
    ksign = Path(os.environ["KSIGN"])
    source_root = Path(os.environ["KSIGN_SOURCE_ROOT"])
    work = Path(tempfile.mkdtemp(prefix="ksign-kernel."))
    log(f"testbed {testbed} (from {variable}), work directory {work}")

    failures = []
    cases = []
    try:
        check_testbed(testbed)
        if not ksign.is_file():
            raise SetupError(f"KSIGN '{ksign}' does not exist")
        qemu = find_program("qemu-system-x86_64", "QEMU")
        busybox = find_busybox()
        for tool in ("make", "zstd", "gzip", "xz"):
            find_program(tool)
        openssl = find_program("openssl")
        tree = prepare_kernel_tree(testbed, work)
        plain = build_module(tree, work)
        loader = build_loader(source_root, work)
        sign_file = next((p for p in [tree / "scripts/sign-file"] +
                          sorted(Path("/usr/lib").glob("linux-kbuild-*/scripts/sign-file"), reverse=True)
                          if p.is_file() and os.access(p, os.X_OK)), None)
        log(f"test module {plain}, foreign signer {sign_file or '(none: ksign signs first too)'}")

        key_store_cert, key_store_error = make_key_store(ksign, testbed, work)
        cases = make_cases(ksign, plain, work, testbed, sign_file, key_store_cert, key_store_error, openssl)

        images = {"stock": testbed / "vmlinux", "patched": work / "vmlinux-patched",
                  "waiver": testbed / "vmlinux-waiver"}
        stock = [c for c in cases if c.boot == "stock" and not c.problems]
        failures += boot("stock", testbed / "vmlinux", stock, work, qemu, loader, busybox, source_root)
        patched_cases = [c for c in cases if c.boot == "patched" and not c.problems]
        if key_store_cert and patched_cases:
            patched = work / "vmlinux-patched"
            shutil.copyfile(testbed / "vmlinux", patched)
            patched.chmod(0o644)
            run([insert_sys_cert(testbed), "-b", patched, "-c", key_store_cert, "-s",
                 testbed / "System.map"], "inserting the ksign keys certificate")
            failures += boot("patched", patched, patched_cases, work, qemu, loader, busybox, source_root)
        waiver_cases = [c for c in cases if c.boot == "waiver" and not c.problems]
        if waiver_cases:
            failures += boot("waiver", testbed / "vmlinux-waiver", waiver_cases, work, qemu, loader, busybox,
                             source_root)
        for case in cases:
            if not case.problems:
                judge_kernel(case)
                judge_verify(ksign, case, images[case.boot])
                judge_signature(openssl, case)
    except SetupError as error:
        failures.append(str(error))

    log(f"\n{'case':26} {'boot':8} {'expected':16} {'kernel':8} {'errno':>5} {'message':16} {'ksign verify':26} verdict")
    for case in cases:
        errno = "-" if case.errno is None else str(case.errno)
        verdicts = ",".join(case.verdicts) or "-"
        log(f"{case.name:26} {case.boot:8} {case.expect:16} {case.result:8} {errno:>5} {case.message:16} "
            f"{verdicts:26} {'FAIL' if case.problems else 'ok'}")
        for problem in case.problems:
            failures.append(f"{case.name}: {problem}")
    passed = sum(1 for case in cases if not case.problems)
    log(f"\n{passed} of {len(cases)} cases passed, wall time {time.monotonic() - started:.1f} s")
    for failure in failures:
        log(f"FAIL: {failure}")
    if failures or not cases:
        log(f"test data left in {work}")
        return 1
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
