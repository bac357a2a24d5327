// SPDX-License-Identifier: MIT
// The smallest module DKMS can build: ksign's DKMS test signs it and checks the signature.
#include <linux/init.h>
#include <linux/module.h>

static int __init ksign_dkms_test_init(void)
{
	pr_info("ksign_dkms_test loaded\n");
	return 0;
}

static void __exit ksign_dkms_test_exit(void)
{
}

module_init(ksign_dkms_test_init);
module_exit(ksign_dkms_test_exit);
MODULE_LICENSE("Dual MIT/GPL");
MODULE_DESCRIPTION("ksign DKMS test module");
