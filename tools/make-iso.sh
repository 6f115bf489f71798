#!/usr/bin/env bash
# Builds a bootable ISO: GRUB plus one chapter's kernel.
#
#   tools/make-iso.sh KERNEL_ELF CHAPTER ISO [KERNEL_COMMAND_LINE]
#
# The GRUB menu comes from grub/grub.cfg with @KERNEL@, @CMDLINE@, @TITLE@ and
# @MODULES@ filled in. grub-mkrescue's chatter goes to a log shown only on
# failure.
#
# A chapter whose folder has a `grub-modules` file (chapter 4: its user
# programs) gets each program it lists, from the kernel's build folder, as a
# Multiboot2 module: `module2 /boot/user/NAME NAME`, the name being the
# module's command line, which the kernel reads as the program's name.
set -euo pipefail
kernel=$1 chapter=$2 iso=$3 cmdline=${4:-}

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/boot/grub" "$(dirname "$iso")"
# The ISO gets the kernel without debug information (GDB reads the symbols from
# the unstripped file under target/): GRUB then reads ~100 KiB instead of
# megabytes from the emulated CD drive, which shortens the boot noticeably.
objcopy --strip-debug "$kernel" "$root/boot/strata-$chapter.elf"
modules=""
if [[ -f modules/$chapter/grub-modules ]]; then
    mkdir -p "$root/boot/user"
    for name in $(sed -e 's/#.*//' "modules/$chapter/grub-modules"); do
        objcopy --strip-debug "$(dirname "$kernel")/$name" "$root/boot/user/$name"
        modules+="    module2 /boot/user/$name $name\n"
    done
fi
sed -e "s|@KERNEL@|strata-$chapter.elf|" -e "s|@CMDLINE@|$cmdline|" -e "s|@TITLE@|$chapter|" \
    -e "s|^ *@MODULES@$|${modules%\\n}|" grub/grub.cfg >"$root/boot/grub/grub.cfg"
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
