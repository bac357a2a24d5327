#!/bin/busybox sh
# SPDX-License-Identifier: MIT
# shellcheck shell=dash
# /init of the kernel suite's initramfs (busybox-static): load every module listed in
# /modules/list with the static loader, one machine-readable line per module, then power off.
# A list line is "<case> <file> plain|compressed <module name>".

/bin/busybox mkdir -p /proc /sys /dev
/bin/busybox mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
# Keep kernel messages off the console while loading: they would interleave with the result
# lines. The loader reads them from /dev/kmsg instead.
echo 1 >/proc/sys/kernel/printk

echo "KSIGN-GUEST-START $(uname -r) sig_enforce=$(cat /sys/module/module/parameters/sig_enforce)"
while read -r case_name file mode module_name; do
  if [ "$mode" = compressed ]; then
    /loader --compressed "$case_name" "/modules/$file" "$module_name"
  else
    /loader "$case_name" "/modules/$file" "$module_name"
  fi
done </modules/list
echo "KSIGN-GUEST-END"
# Let the serial line drain before the machine goes away.
sleep 1
poweroff -f
