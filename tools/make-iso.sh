#!/usr/bin/env bash
# Builds a bootable ISO: GRUB plus one chapter's kernel.
#
#   tools/make-iso.sh KERNEL_ELF CHAPTER ISO [KERNEL_COMMAND_LINE]
#
# The GRUB menu comes from grub/grub.cfg with @KERNEL@, @CMDLINE@ and @TITLE@
# filled in. grub-mkrescue's chatter goes to a log shown only on failure.
set -euo pipefail
kernel=$1 chapter=$2 iso=$3 cmdline=${4:-}

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/boot/grub" "$(dirname "$iso")"
# The ISO gets the kernel without debug information (GDB reads the symbols from
# the unstripped file under target/): GRUB then reads ~100 KiB instead of
# megabytes from the emulated CD drive, which shortens the boot noticeably.
objcopy --strip-debug "$kernel" "$root/boot/strata-$chapter.elf"
sed -e "s|@KERNEL@|strata-$chapter.elf|" -e "s|@CMDLINE@|$cmdline|" -e "s|@TITLE@|$chapter|" \
    grub/grub.cfg >"$root/boot/grub/grub.cfg"
# Only the GRUB modules the menu needs, and no fonts, themes or translations:
# a smaller image that GRUB reads faster at boot. GRUB loads every partition-
# table module its list names when it probes the disks, and prints an error
# for each one missing, so all of them (20 KiB together) go in.
partition_modules=$(cd /usr/lib/grub/i386-pc && ls part_*.mod | sed 's/\.mod$//' | tr '\n' ' ')
if ! log=$(grub-mkrescue -o "$iso" --install-modules="multiboot2 normal iso9660 biosdisk $partition_modules" \
    --fonts= --locales= --themes= "$root" 2>&1); then
    echo "$log" >&2
    echo "make-iso: grub-mkrescue failed for $iso" >&2
    exit 1
fi
echo "built $iso${cmdline:+ (kernel command line: $cmdline)}"
