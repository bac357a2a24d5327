# SPDX-License-Identifier: MIT
# fish completion for ksign(1)

set -l __ksign_commands keys config install sign verify repair status sign-file help

# Kernel releases that have a module directory: what --kernel takes.
function __ksign_kernels
    set -l root @MODULEDIR@
    if set -q KSIGN_MODULEDIR; and test -n "$KSIGN_MODULEDIR"
        set root $KSIGN_MODULEDIR
    end
    for dir in $root/*/
        basename $dir
    end
end

# Directories and kernel modules (*.ko, *.ko.gz, *.ko.xz, *.ko.zst) under the current token.
function __ksign_module_paths
    set -l token (commandline -ct)
    for path in (complete -C "__fish_command_without_completions $token")
        if string match -q -- '*/' $path; or string match -qr -- '\.ko(\.gz|\.xz|\.zst)?$' $path
            echo $path
        end
    end
end

function __ksign_using
    set -l words (commandline -opc)
    test (count $words) -ge 2; and contains -- $words[2] $argv
end

complete -c ksign -f
complete -c ksign -n "not __fish_seen_subcommand_from $__ksign_commands" -s h -l help -d 'show help'
complete -c ksign -n "not __fish_seen_subcommand_from $__ksign_commands" -s V -l version -d 'show the version'
complete -c ksign -n "not __fish_seen_subcommand_from $__ksign_commands" -a keys -d 'create or refresh the module signing key'
complete -c ksign -n "not __fish_seen_subcommand_from $__ksign_commands" -a config -d 'make kernel configs trust the current key'
complete -c ksign -n "not __fish_seen_subcommand_from $__ksign_commands" -a install -d 'copy the current key into a kernel package'
complete -c ksign -n "not __fish_seen_subcommand_from $__ksign_commands" -a sign -d 'sign kernel modules'
complete -c ksign -n "not __fish_seen_subcommand_from $__ksign_commands" -a verify -d 'check module signatures the way the kernel will'
complete -c ksign -n "not __fish_seen_subcommand_from $__ksign_commands" -a repair -d "sign, with each installed kernel's own key, the modules it would refuse"
complete -c ksign -n "not __fish_seen_subcommand_from $__ksign_commands" -a status -d 'show what the running kernel enforces and trusts'
complete -c ksign -n "not __fish_seen_subcommand_from $__ksign_commands" -a sign-file -d "the kernel's scripts/sign-file interface"
complete -c ksign -n "not __fish_seen_subcommand_from $__ksign_commands" -a help -d 'describe ksign or one of its commands'
complete -c ksign -n '__ksign_using help' -a "$__ksign_commands"

# keys
complete -c ksign -n '__ksign_using keys' -s d -l dir -x -a '(__fish_complete_directories)' -d 'key store directory'
complete -c ksign -n '__ksign_using keys' -l config -r -F -d 'kernel config to read and update (file or quoted glob)'
complete -c ksign -n '__ksign_using keys' -l refresh -x -a 'always 1d 7d 30d 2w' -d 'refresh the key when older than PERIOD'
complete -c ksign -n '__ksign_using keys' -l keep -x -d 'keep only the newest N key directories'
complete -c ksign -n '__ksign_using keys' -l show -d 'describe the current key and the kernels that carry it'
complete -c ksign -n '__ksign_using keys' -l json -d 'with --show: print it as JSON'
complete -c ksign -n '__ksign_using keys' -l key-files -x -a '(__ksign_kernels)' -d 'print where a kernel\'s private key and certificate are'
complete -c ksign -n '__ksign_using keys' -l allow-loose-key -d 'use a private key that group or others can read'
complete -c ksign -n '__ksign_using keys' -s v -l verbose -d 'say what is kept as well as what changes'
complete -c ksign -n '__ksign_using keys' -s q -l quiet -d 'print errors only'
complete -c ksign -n '__ksign_using keys' -s h -l help -d 'show help'

# config
complete -c ksign -n '__ksign_using config' -F
complete -c ksign -n '__ksign_using config' -s d -l dir -x -a '(__fish_complete_directories)' -d 'key store directory'
complete -c ksign -n '__ksign_using config' -l check -d 'report the module-signing settings; change nothing'
complete -c ksign -n '__ksign_using config' -s v -l verbose -d 'also name configs that are already right'
complete -c ksign -n '__ksign_using config' -s q -l quiet -d 'print errors only'
complete -c ksign -n '__ksign_using config' -s h -l help -d 'show help'

# install
complete -c ksign -n '__ksign_using install' -a '(__fish_complete_directories)'
complete -c ksign -n '__ksign_using install' -s d -l dir -x -a '(__fish_complete_directories)' -d 'key store directory'
complete -c ksign -n '__ksign_using install' -l config -r -F -d 'the kernel config that must trust the key'
complete -c ksign -n '__ksign_using install' -l allow-untrusted-key -d 'install the key even when the config does not trust it'
complete -c ksign -n '__ksign_using install' -l public -d 'install the certificates only'
complete -c ksign -n '__ksign_using install' -l register -x -a '(__fish_complete_directories)' -d 'with --public: where the key link goes'
complete -c ksign -n '__ksign_using install' -l allow-loose-key -d 'use a private key that group or others can read'
complete -c ksign -n '__ksign_using install' -s v -l verbose -d 'name what is copied'
complete -c ksign -n '__ksign_using install' -s q -l quiet -d 'print errors only'
complete -c ksign -n '__ksign_using install' -s h -l help -d 'show help'

# sign
complete -c ksign -n '__ksign_using sign' -a '(__ksign_module_paths)'
complete -c ksign -n '__ksign_using sign' -s k -l key -r -F -d 'PEM private key or pkcs11: URI'
complete -c ksign -n '__ksign_using sign' -s c -l cert -r -F -d 'signer certificate, DER or PEM'
complete -c ksign -n '__ksign_using sign' -l hash -x -a 'sha256 sha384 sha512 sha3-256 sha3-384 sha3-512' -d 'hash algorithm'
complete -c ksign -n '__ksign_using sign' -l keyid -d 'name the signer by subjectKeyIdentifier'
complete -c ksign -n '__ksign_using sign' -s d -l dir -x -a '(__fish_complete_directories)' -d 'use the current key of a key store'
complete -c ksign -n '__ksign_using sign' -l kernel -x -a '(__ksign_kernels)' -d 'use the key installed with a kernel'
complete -c ksign -n '__ksign_using sign' -s o -l output -r -F -d 'write the signed module to FILE'
complete -c ksign -n '__ksign_using sign' -s r -l recursive -d 'sign modules in subdirectories too'
complete -c ksign -n '__ksign_using sign' -s j -l jobs -x -d 'sign N modules at a time (0: one per CPU)'
complete -c ksign -n '__ksign_using sign' -l compress-level -x -d 'level for recompressing compressed modules'
complete -c ksign -n '__ksign_using sign' -l allow-loose-key -d 'use a private key that group or others can read'
complete -c ksign -n '__ksign_using sign' -l allow-unsupported-key -d 'sign even with a key the kernel cannot load'
complete -c ksign -n '__ksign_using sign' -s v -l verbose -d 'name every module signed'
complete -c ksign -n '__ksign_using sign' -s q -l quiet -d 'print errors only'
complete -c ksign -n '__ksign_using sign' -s h -l help -d 'show help'

# verify
complete -c ksign -n '__ksign_using verify' -a '(__ksign_module_paths)'
complete -c ksign -n '__ksign_using verify' -s c -l cert -r -F -d 'trust the certificates in FILE'
complete -c ksign -n '__ksign_using verify' -s d -l dir -x -a '(__fish_complete_directories)' -d 'trust the current key of a key store'
complete -c ksign -n '__ksign_using verify' -l kernel -x -a '(__ksign_kernels)' -d 'judge by what an installed kernel trusts'
complete -c ksign -n '__ksign_using verify' -l image -r -F -d 'judge by the certificates in a kernel image'
complete -c ksign -n '__ksign_using verify' -l system-map -r -F -d 'with --image: its System.map'
complete -c ksign -n '__ksign_using verify' -l running -d "judge by the running kernel's keyrings"
complete -c ksign -n '__ksign_using verify' -l config -r -F -d "judge by the rules of the kernel built from this .config"
complete -c ksign -n '__ksign_using verify' -s r -l recursive -d 'check modules in subdirectories too'
complete -c ksign -n '__ksign_using verify' -s j -l jobs -x -d 'check N modules at a time (0: one per CPU)'
complete -c ksign -n '__ksign_using verify' -l json -d 'print the results as JSON'
complete -c ksign -n '__ksign_using verify' -s v -l verbose -d 'more detail per module'
complete -c ksign -n '__ksign_using verify' -s q -l quiet -d 'print only the modules that are not ok'
complete -c ksign -n '__ksign_using verify' -s h -l help -d 'show help'

# repair
complete -c ksign -n '__ksign_using repair' -a '(__ksign_module_paths)'
complete -c ksign -n '__ksign_using repair' -l kernel -x -a '(__ksign_kernels)' -d 'repair an installed kernel (default: every one)'
complete -c ksign -n '__ksign_using repair' -s n -l dry-run -d 'say what would be signed; change nothing'
complete -c ksign -n '__ksign_using repair' -l json -d 'print the plan and what was done as JSON'
complete -c ksign -n '__ksign_using repair' -s c -l cert -r -F -d 'a certificate of a key that may have signed modules'
complete -c ksign -n '__ksign_using repair' -s j -l jobs -x -d 'check and sign N modules at a time (0: one per CPU)'
complete -c ksign -n '__ksign_using repair' -l allow-loose-key -d 'use a private key that group or others can read (warns)'
complete -c ksign -n '__ksign_using repair' -s v -l verbose -d 'say more'
complete -c ksign -n '__ksign_using repair' -s q -l quiet -d 'print errors only'
complete -c ksign -n '__ksign_using repair' -s h -l help -d 'show help'

# status
complete -c ksign -n '__ksign_using status' -l json -d 'print the status as JSON'
complete -c ksign -n '__ksign_using status' -s v -l verbose -d 'say more'
complete -c ksign -n '__ksign_using status' -s q -l quiet -d 'print errors only'
complete -c ksign -n '__ksign_using status' -s h -l help -d 'show help'

# sign-file [-dpk] <hash> <key> <x509> <module> [<dest>]: the hash comes first, then files.
complete -c ksign -n '__ksign_using sign-file' -F
complete -c ksign -n '__ksign_using sign-file' -a 'sha256 sha384 sha512 sha3-256 sha3-384 sha3-512'
complete -c ksign -n '__ksign_using sign-file' -s d -d 'write the signature to <module>.p7s only'
complete -c ksign -n '__ksign_using sign-file' -s p -d 'also write the signature to <module>.p7s'
complete -c ksign -n '__ksign_using sign-file' -s k -d 'name the signer by subjectKeyIdentifier'
complete -c ksign -n '__ksign_using sign-file' -s s -r -F -d 'append a ready-made DER PKCS#7 signature'
complete -c ksign -n '__ksign_using sign-file' -s h -l help -d 'show help'
