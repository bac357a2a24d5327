// SPDX-License-Identifier: GPL-2.0
#include <linux/init.h>
#include <linux/module.h>
static int __init ksign_sample_init(void) { pr_info("ksign_sample loaded\n"); return 0; }
static void __exit ksign_sample_exit(void) { }
module_init(ksign_sample_init);
module_exit(ksign_sample_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("ksign test module");
