// SPDX-License-Identifier: GPL-2.0
// The field lane's out-of-tree module, built by DKMS for every installed kernel.
#include <linux/init.h>
#include <linux/module.h>

static int __init hello_start(void) { pr_info("hello: in\n"); return 0; }
static void __exit hello_stop(void) { pr_info("hello: out\n"); }
module_init(hello_start);
module_exit(hello_stop);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("ksign field lane module");
