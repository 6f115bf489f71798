//! Booting an ISO under QEMU and talking to it over the emulated serial port.
//!
//! QEMU is started with `-serial stdio`, so the guest's COM1 *is* QEMU's
//! stdin/stdout: whatever the kernel writes to the UART arrives on our end of
//! the stdout pipe, and bytes we write to QEMU's stdin arrive in the UART's
//! receive buffer. `-device isa-debug-exit` gives the kernel a way to end
//! QEMU with a chosen exit status: writing value `v` to port `0xf4` makes
//! QEMU exit with status `(v << 1) | 1`, so `0x10` → 33 (success) and
//! `0x11` → 35 (failure). Any other status means the kernel did not end the
//! way it meant to (for instance `-no-reboot` turns a triple fault into a
//! plain exit with status 0).
//!
//! End-to-end scripts can also type on the guest's PS/2 keyboard: QEMU's
//! monitor listens on a unix socket (see [`crate::monitor`]), and
//! [`Machine::send_keys`] presses keys there with `sendkey`, which goes
//! through the emulated keyboard controller and IRQ 1 like real typing.
//!
//! A kernel under test can hang, so nothing here may block forever: a
//! background thread reads QEMU's stdout and forwards each chunk through a
//! channel, and every read from that channel has a deadline.
//!
//! Set `STRATA_QEMU` to use another binary than `qemu-system-i386`, for
//! example a newer QEMU, or a small script that fakes the kernel's side of
//! the protocol while developing the runner itself.

use std::env;
use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::escapes;
use crate::monitor::{self, Monitor};
use crate::summary::Summary;
use crate::transcript::Transcript;

/// The QEMU exit status a kernel produces by writing `0x10` to the
/// isa-debug-exit port: all tests passed.
pub const EXIT_SUCCESS: i32 = 33;
/// ... and by writing `0x11`: at least one test failed.
pub const EXIT_FAILURE: i32 = 35;

/// The 16550 UART buffers only 16 received bytes; typing faster than the
/// kernel empties the FIFO would lose input, so input goes in chunks this
/// big with [`CHUNK_PAUSE`] in between.
const CHUNK_SIZE: usize = 16;
const CHUNK_PAUSE: Duration = Duration::from_millis(2);

/// How long QEMU holds each key down, and how long we wait after each key.
/// QEMU queues key events behind the hold time of earlier keys, so a hold
/// shorter than the pause means the queue is empty again by the next key:
/// when [`Machine::send_keys`] returns every key has reached the guest, and
/// typing stays in order with serial input that follows. (QEMU's manual
/// says the hold defaults to 100 ms; QEMU 7.2 actually uses 10 ms. Giving
/// it explicitly keeps the timing the same on every version.)
const KEY_HOLD_MS: u32 = 10;
const KEY_PAUSE: Duration = Duration::from_millis(40);

/// How long a QEMU that closed its output gets to actually exit.
const EXIT_GRACE: Duration = Duration::from_secs(5);

/// What a layer needs before it can boot anything: its ISO, and QEMU. If
/// either is missing, records the reason in `summary` as a failure of
/// `layer` (e.g. `kernel/e2e`) and returns `None`.
pub fn prepare(iso: &Path, layer: &str, summary: &mut Summary) -> Option<PathBuf> {
    if !iso.is_file() {
        summary.fail(&format!("{layer} (missing ISO)"), &missing_iso(iso));
        return None;
    }
    match find_qemu() {
        Ok(qemu) => Some(qemu),
        Err(message) => {
            summary.fail(&format!("{layer} (QEMU missing)"), &message);
            None
        }
    }
}

/// Finds the QEMU binary: `$STRATA_QEMU` if set, else `qemu-system-i386`
/// on the `PATH`. The error is a message telling the user what to install.
pub fn find_qemu() -> Result<PathBuf, String> {
    if let Some(path) = env::var_os("STRATA_QEMU") {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(format!(
                "STRATA_QEMU is set to {}, which is not a file",
                path.display()
            ))
        };
    }
    let name = "qemu-system-i386";
    let search_path = env::var_os("PATH").unwrap_or_default();
    env::split_paths(&search_path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
        .ok_or_else(|| {
            format!(
                "{name} not found on PATH. Install QEMU (Debian/Ubuntu: \
                 `sudo apt install qemu-system-x86`, Fedora: `sudo dnf install \
                 qemu-system-x86`, macOS: `brew install qemu`) or set \
                 STRATA_QEMU to the binary"
            )
        })
}

/// The message for a missing ISO: the usual cause is that it was not built.
pub fn missing_iso(iso: &Path) -> String {
    format!(
        "{} not found: build the ISOs first with `make isos` (`make test` \
         does that for you)",
        iso.display()
    )
}

/// What one wait for output produced.
#[derive(Debug)]
pub enum Received {
    /// Some output, with `\r` already removed.
    Output(Vec<u8>),
    /// The deadline passed first.
    TimedOut,
    /// QEMU closed its output: it has exited (or is about to).
    Closed,
}

/// How a boot ended.
#[derive(Debug, Clone)]
pub enum Ending {
    /// QEMU exited by itself with this status.
    Exited(ExitStatus),
    /// The runner killed QEMU (timeout, or the test was over).
    Killed,
}

impl Ending {
    /// The exit code, if QEMU exited normally by itself.
    pub fn code(&self) -> Option<i32> {
        match self {
            Ending::Exited(status) => status.code(),
            Ending::Killed => None,
        }
    }

    /// A human description such as "exit status 33".
    pub fn describe(&self) -> String {
        match self {
            Ending::Exited(status) => match status.code() {
                Some(code) => format!("exit status {code}"),
                None => format!("QEMU ended abnormally ({status})"),
            },
            Ending::Killed => "killed by the runner".to_string(),
        }
    }
}

/// Why typing into the guest failed.
#[derive(Debug)]
pub enum SendError {
    /// QEMU has exited (or is exiting): call [`Machine::wait_for_exit`].
    Exited,
    /// The monitor could not be reached or refused a key; QEMU runs on.
    Failed(String),
}

/// A running QEMU with the kernel on its serial port.
pub struct Machine {
    child: Child,
    stdin: Option<ChildStdin>,
    /// QEMU's monitor socket, and our connection to it once keys are typed.
    monitor_path: PathBuf,
    monitor: Option<Monitor>,
    output: Receiver<Vec<u8>>,
    stderr: Option<JoinHandle<Vec<u8>>>,
    started: Instant,
    transcript: Transcript,
    /// Set once QEMU has ended, so asking again gives the same answer.
    ending: Option<Ending>,
}

/// Where the firmware and GRUB show their text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Firmware {
    /// On the (hidden) VGA screen only: the serial port carries the
    /// kernel's output alone.
    Quiet,
    /// On the serial port too, as `make run` shows them on a terminal
    /// (`-nographic`: SeaBIOS copies its and GRUB's screen output there).
    OnSerial,
}

impl Machine {
    /// Boots `iso` with `memory` of RAM (QEMU syntax: `128M`, `1G`).
    pub fn boot(qemu: &Path, iso: &Path, memory: &str, firmware: Firmware) -> io::Result<Machine> {
        let monitor_path = monitor::socket_path();
        // A leftover from a killed runner whose process id we now have.
        let _ = fs::remove_file(&monitor_path);
        let mut child = Command::new(qemu)
            .arg("-cdrom")
            .arg(iso)
            .args(["-m", memory])
            .args(["-serial", "stdio"])
            .args(match firmware {
                Firmware::Quiet => ["-display", "none"].as_slice(),
                Firmware::OnSerial => ["-nographic"].as_slice(),
            })
            .arg("-monitor")
            .arg(monitor::qemu_option(&monitor_path))
            .args(["-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"])
            .arg("-no-reboot")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let started = Instant::now();

        let stdout = child.stdout.take().expect("stdout is piped");
        let (sender, output) = mpsc::channel();
        thread::spawn(move || forward_output(stdout, sender));
        let mut stderr = child.stderr.take().expect("stderr is piped");
        let stderr = thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = stderr.read_to_end(&mut bytes);
            bytes
        });

        let mut transcript = Transcript::default();
        transcript.note(&format!(
            "boot {} with -m {memory} using {}",
            iso.display(),
            qemu.display()
        ));
        Ok(Machine {
            stdin: child.stdin.take(),
            child,
            monitor_path,
            monitor: None,
            output,
            stderr: Some(stderr),
            started,
            transcript,
            ending: None,
        })
    }

    /// Time since QEMU was started.
    pub fn uptime(&self) -> Duration {
        self.started.elapsed()
    }

    /// Waits until some output arrives, QEMU closes its output, or
    /// `deadline` passes.
    pub fn receive(&mut self, deadline: Instant) -> Received {
        let wait = deadline.saturating_duration_since(Instant::now());
        match self.output.recv_timeout(wait) {
            Ok(mut bytes) => {
                bytes.retain(|&byte| byte != b'\r');
                self.transcript.record_output(&bytes);
                Received::Output(bytes)
            }
            Err(RecvTimeoutError::Timeout) => Received::TimedOut,
            Err(RecvTimeoutError::Disconnected) => Received::Closed,
        }
    }

    /// Types `bytes` into the serial port, a FIFO-full at a time.
    pub fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.transcript
            .note(&format!("send {}", escapes::quote(bytes, 200)));
        let stdin = self
            .stdin
            .as_mut()
            .ok_or_else(|| io::Error::new(io::ErrorKind::BrokenPipe, "stdin closed"))?;
        for chunk in bytes.chunks(CHUNK_SIZE) {
            stdin.write_all(chunk)?;
            stdin.flush()?;
            thread::sleep(CHUNK_PAUSE);
        }
        Ok(())
    }

    /// Writes `bytes` in one go, as fast as the pipe takes them: a paste.
    /// Unlike [`Machine::send`] nothing paces it, so the kernel must keep up
    /// (or hold the sender back). Keep it below the pipe's buffer (64 KiB),
    /// or a kernel that stops reading would block the runner here.
    pub fn send_at_once(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.transcript.note(&format!(
            "paste {} bytes {}",
            bytes.len(),
            escapes::quote(bytes, 200)
        ));
        let stdin = self
            .stdin
            .as_mut()
            .ok_or_else(|| io::Error::new(io::ErrorKind::BrokenPipe, "stdin closed"))?;
        stdin.write_all(bytes)?;
        stdin.flush()
    }

    /// Presses `keys` (QEMU `sendkey` names such as `a`, `shift-a`, `ret`)
    /// on the PS/2 keyboard, one after the other. Connects to the monitor on
    /// first use.
    pub fn send_keys(&mut self, keys: &[String]) -> Result<(), SendError> {
        self.transcript.note(&format!("keys {}", keys.join(" ")));
        let result = self.press_keys(keys);
        if let Err(SendError::Failed(problem)) = &result {
            // The monitor also fails when QEMU is gone: say so instead.
            if let Ok(Some(_)) = self.child.try_wait() {
                return Err(SendError::Exited);
            }
            self.transcript.note(problem);
        }
        result
    }

    fn press_keys(&mut self, keys: &[String]) -> Result<(), SendError> {
        let exited_or = |error: io::Error, what: String| match error.kind() {
            io::ErrorKind::UnexpectedEof
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::ConnectionReset => SendError::Exited,
            _ => SendError::Failed(format!("{what}: {error}")),
        };
        if self.monitor.is_none() {
            let monitor = Monitor::connect(&self.monitor_path).map_err(|error| {
                let path = self.monitor_path.display();
                exited_or(
                    error,
                    format!("could not connect to QEMU's monitor at {path}"),
                )
            })?;
            self.monitor = Some(monitor);
        }
        let monitor = self.monitor.as_mut().expect("connected above");
        for key in keys {
            let command = format!("sendkey {key} {KEY_HOLD_MS}");
            let answer = monitor
                .command(&command)
                .map_err(|error| exited_or(error, format!("QEMU's monitor, `{command}`")))?;
            if !answer.is_empty() {
                return Err(SendError::Failed(format!(
                    "QEMU refused key `{key}`: {answer}"
                )));
            }
            thread::sleep(KEY_PAUSE);
        }
        Ok(())
    }

    /// After [`Received::Closed`]: waits briefly for QEMU to exit and
    /// returns its status (killing it if it lingers).
    pub fn wait_for_exit(&mut self) -> Ending {
        if let Some(ending) = &self.ending {
            return ending.clone();
        }
        let deadline = Instant::now() + EXIT_GRACE;
        while Instant::now() < deadline {
            match self.child.try_wait() {
                Ok(Some(status)) => return self.ended(Ending::Exited(status)),
                Ok(None) => thread::sleep(Duration::from_millis(10)),
                Err(_) => break,
            }
        }
        self.kill()
    }

    /// Stops QEMU now, unless it has already exited by itself.
    pub fn kill(&mut self) -> Ending {
        if let Some(ending) = &self.ending {
            return ending.clone();
        }
        if let Ok(Some(status)) = self.child.try_wait() {
            return self.ended(Ending::Exited(status));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.ended(Ending::Killed)
    }

    /// Adds a runner note to the transcript.
    pub fn note(&mut self, note: &str) {
        self.transcript.note(note);
    }

    pub fn transcript(&self) -> &Transcript {
        &self.transcript
    }

    /// Records how the boot ended, including anything QEMU itself printed on
    /// stderr (such as "could not open disk image").
    fn ended(&mut self, ending: Ending) -> Ending {
        self.stdin = None;
        self.monitor = None;
        if let Some(stderr) = self.stderr.take().and_then(|thread| thread.join().ok()) {
            if !stderr.is_empty() {
                self.transcript.note("QEMU stderr:");
                self.transcript.record_output(&stderr);
            }
        }
        self.transcript
            .note(&format!("QEMU ended: {}", ending.describe()));
        self.ending = Some(ending.clone());
        ending
    }
}

impl Drop for Machine {
    /// Never leave a QEMU (or its monitor socket) behind, whatever path the
    /// runner took.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        let _ = fs::remove_file(&self.monitor_path);
    }
}

/// Body of the reader thread: forwards stdout chunks until QEMU closes it.
/// Dropping `sender` on return is what tells [`Machine::receive`] that the
/// output is closed.
fn forward_output(mut stdout: impl Read, sender: mpsc::Sender<Vec<u8>>) {
    let mut buffer = [0u8; 4096];
    loop {
        match stdout.read(&mut buffer) {
            Ok(0) | Err(_) => return,
            Ok(count) => {
                if sender.send(buffer[..count].to_vec()).is_err() {
                    return;
                }
            }
        }
    }
}
