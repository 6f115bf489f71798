//! The two 8259 Programmable Interrupt Controllers.
//!
//! The PC routes its 16 hardware interrupt lines (IRQs) through two chained
//! 8259s: the *master* handles IRQ 0–7 and the *slave* IRQ 8–15, cascaded into
//! the master's IRQ 2. At power-on the master delivers its IRQs as vectors
//! 8–15 — the same numbers the CPU uses for its own exceptions (8 is the double
//! fault!). So the first job is to *remap* them: Strata moves IRQ 0–15 to
//! vectors 32–47, just past the 32 reserved for exceptions.
//!
//! After handling an IRQ the kernel must send an *End Of Interrupt* (EOI), or
//! the PIC will not deliver that line (or any of lower priority) again.

use x86::io::{inb, outb};

const MASTER_COMMAND: u16 = 0x20;
const MASTER_DATA: u16 = 0x21;
const SLAVE_COMMAND: u16 = 0xA0;
const SLAVE_DATA: u16 = 0xA1;

/// Vector of IRQ 0 after remapping.
pub const MASTER_OFFSET: u8 = 32;
/// Vector of IRQ 8 after remapping.
pub const SLAVE_OFFSET: u8 = 40;

const ICW1_INIT: u8 = 0x10;
const ICW1_EXPECT_ICW4: u8 = 0x01;
const ICW4_8086_MODE: u8 = 0x01;
const OCW3_READ_ISR: u8 = 0x0B;
const EOI: u8 = 0x20;
/// The slave is wired to the master's IRQ 2.
const CASCADE_IRQ: u8 = 2;

/// Remaps the PICs to vectors 32–47 and masks every line except the cascade.
/// Drivers unmask their own line when they install a handler.
pub fn init() {
    // SAFETY: these are the PICs' fixed ports; the sequence below is the
    // initialisation protocol from the 8259A datasheet, run once at boot with
    // interrupts off.
    unsafe {
        // ICW1: start initialisation, an ICW4 will follow.
        outb(MASTER_COMMAND, ICW1_INIT | ICW1_EXPECT_ICW4);
        io_wait();
        outb(SLAVE_COMMAND, ICW1_INIT | ICW1_EXPECT_ICW4);
        io_wait();
        // ICW2: the vector offsets.
        outb(MASTER_DATA, MASTER_OFFSET);
        io_wait();
        outb(SLAVE_DATA, SLAVE_OFFSET);
        io_wait();
        // ICW3: master has the slave on line 2; the slave's cascade identity is 2.
        outb(MASTER_DATA, 1 << CASCADE_IRQ);
        io_wait();
        outb(SLAVE_DATA, CASCADE_IRQ);
        io_wait();
        // ICW4: 8086 mode.
        outb(MASTER_DATA, ICW4_8086_MODE);
        io_wait();
        outb(SLAVE_DATA, ICW4_8086_MODE);
        io_wait();
        // Masks: a set bit blocks the line.
        outb(MASTER_DATA, !(1 << CASCADE_IRQ));
        outb(SLAVE_DATA, 0xFF);
    }
}

/// Lets IRQ `irq` through.
pub fn unmask(irq: u8) {
    let (port, bit) = mask_port_and_bit(irq);
    // SAFETY: read-modify-write of the PIC's mask register, which only
    // changes which IRQ lines are delivered.
    unsafe { outb(port, inb(port) & !(1 << bit)) };
}

/// Blocks IRQ `irq`.
pub fn mask(irq: u8) {
    let (port, bit) = mask_port_and_bit(irq);
    // SAFETY: as in `unmask`.
    unsafe { outb(port, inb(port) | (1 << bit)) };
}

/// Tells the PIC(s) that IRQ `irq` has been handled.
pub fn end_of_interrupt(irq: u8) {
    // SAFETY: writing EOI to the command ports acknowledges the interrupt
    // being handled; IRQs from the slave must be acknowledged on both chips.
    unsafe {
        if irq >= 8 {
            outb(SLAVE_COMMAND, EOI);
        }
        outb(MASTER_COMMAND, EOI);
    }
}

/// Whether IRQ 7 or 15 is *spurious*: the PIC raised it, then the device
/// withdrew its request before the CPU asked which line it was, so the PIC
/// answered with its lowest-priority line. The in-service register (ISR) tells:
/// if the line's bit is clear, nothing is really in service. A spurious IRQ gets
/// no EOI — except that a spurious IRQ 15 came through the master's cascade
/// line, which *is* in service there and needs its EOI.
pub fn is_spurious(irq: u8) -> bool {
    let (command, chip_line) = match irq {
        7 => (MASTER_COMMAND, 7),
        15 => (SLAVE_COMMAND, 7),
        _ => return false,
    };
    // SAFETY: OCW3 selects the ISR for the next read of the command port.
    let in_service = unsafe {
        outb(command, OCW3_READ_ISR);
        inb(command)
    };
    let spurious = in_service & (1 << chip_line) == 0;
    if spurious && irq == 15 {
        // SAFETY: acknowledges the master's cascade line, as explained above.
        unsafe { outb(MASTER_COMMAND, EOI) };
    }
    spurious
}

/// The current masks (master in the low byte), for the curious and for tests.
pub fn masks() -> u16 {
    // SAFETY: reading the data ports returns the interrupt masks.
    unsafe { u16::from(inb(MASTER_DATA)) | (u16::from(inb(SLAVE_DATA)) << 8) }
}

fn mask_port_and_bit(irq: u8) -> (u16, u8) {
    assert!(irq < 16, "there are only 16 IRQ lines, not {irq}");
    if irq < 8 {
        (MASTER_DATA, irq)
    } else {
        (SLAVE_DATA, irq - 8)
    }
}

/// Old PICs need a moment between commands; a write to the unused port 0x80
/// (the POST code port) takes about a microsecond.
fn io_wait() {
    // SAFETY: port 0x80 is unused after boot; writing it has no effect.
    unsafe { outb(0x80, 0) };
}
