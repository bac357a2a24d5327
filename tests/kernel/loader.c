// SPDX-License-Identifier: MIT
// The guest half of the kernel suite: load one module with finit_module(2), report how the
// kernel answered on one machine-readable line, then unload it again so the next variant of
// the same module can load in the same boot. Linked statically: the initramfs has no libc.
//
//   loader [--compressed] <case> <module-file> <module-name>
//
// prints, on stdout:
//   KMSG <case> <kernel log line>                    every kernel message the load caused
//   RESULT <case> loaded errno=0 msg=<class>
//   RESULT <case> refused errno=<n> msg=<class>
//   UNLOAD <case> ok | UNLOAD <case> errno=<n>       after a load only
// where <class> names the signature message the kernel logged: unsigned, unavailable-key,
// unsupported-crypto, authattrs (7.x: signed attributes refused), authattrs-waived (7.x: an
// ML-DSA signature with signed attributes let through by the waiver), or none (the kernel is
// silent when a signature does not verify).

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef MODULE_INIT_COMPRESSED_FILE
#define MODULE_INIT_COMPRESSED_FILE 4
#endif

struct message_class
{
  const char* text;
  const char* name;
};

// The three refusals module_sig_check() logs (kernel/module/signing.c); a signature that does
// not verify is returned without a message.
static const struct message_class message_classes[] = {
  {"Loading of unsigned module is rejected", "unsigned"},
  {"Loading of module with unavailable key is rejected", "unavailable-key"},
  {"Loading of module with unsupported crypto is rejected", "unsupported-crypto"},
  // crypto/asymmetric_keys/pkcs7_parser.c, Linux 7.x
  {"PKCS7: Invalid module sig (has authattrs)", "authattrs"},
  {"PKCS7: Waived invalid module sig (has authattrs)", "authattrs-waived"},
};

// Prints every kernel log record written since `kmsg` was positioned at the end, and returns
// the class of the last signature message among them ("none" when there was none).
static const char* drain_kernel_log(int kmsg, const char* case_name)
{
  const char* found = "none";
  char record[8192];
  for (;;) {
    const ssize_t length = read(kmsg, record, sizeof record - 1);
    if (length < 0 && errno == EPIPE) {
      continue; // records were overwritten while we read: keep going with the next ones
    }
    if (length <= 0) {
      break;
    }
    record[length] = '\0';
    // "<prio>,<seq>,<usec>,<flags>;<text>\n" followed by " KEY=value" lines.
    char* text = strchr(record, ';');
    text = text != NULL ? text + 1 : record;
    char* end = strchr(text, '\n');
    if (end != NULL) {
      *end = '\0';
    }
    printf("KMSG %s %s\n", case_name, text);
    for (size_t i = 0; i < sizeof message_classes / sizeof message_classes[0]; ++i) {
      if (strstr(text, message_classes[i].text) != NULL) {
        found = message_classes[i].name;
      }
    }
  }
  return found;
}

int main(int argc, char** argv)
{
  int flags = 0;
  int first = 1;
  if (argc > 1 && strcmp(argv[1], "--compressed") == 0) {
    flags |= MODULE_INIT_COMPRESSED_FILE;
    first = 2;
  }
  if (argc - first != 3) {
    fprintf(stderr, "usage: loader [--compressed] <case> <module-file> <module-name>\n");
    return 2;
  }
  const char* case_name = argv[first];
  const char* path = argv[first + 1];
  const char* module_name = argv[first + 2];

  const int kmsg = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (kmsg < 0) {
    printf("RESULT %s error errno=%d msg=cannot-open-kmsg\n", case_name, errno);
    return 1;
  }
  (void)lseek(kmsg, 0, SEEK_END);

  const int module = open(path, O_RDONLY | O_CLOEXEC);
  if (module < 0) {
    printf("RESULT %s error errno=%d msg=cannot-open-module\n", case_name, errno);
    return 1;
  }
  const long status = syscall(SYS_finit_module, module, "", flags);
  const int load_errno = status == 0 ? 0 : errno;
  close(module);

  const char* message = drain_kernel_log(kmsg, case_name);
  printf("RESULT %s %s errno=%d msg=%s\n", case_name, status == 0 ? "loaded" : "refused", load_errno,
         message);
  if (status == 0) {
    if (syscall(SYS_delete_module, module_name, O_NONBLOCK) == 0) {
      printf("UNLOAD %s ok\n", case_name);
    } else {
      printf("UNLOAD %s errno=%d\n", case_name, errno);
    }
    (void)drain_kernel_log(kmsg, case_name);
  }
  fflush(stdout);
  close(kmsg);
  return 0;
}
