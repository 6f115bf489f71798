//! Talking to QEMU's human monitor over a unix socket, to type on the
//! guest's PS/2 keyboard with `sendkey`.
//!
//! QEMU is started with `-monitor unix:PATH,server=on,wait=off`: it listens
//! on PATH without waiting for us, and we connect only when a script first
//! types on the keyboard. The monitor greets with a banner ending in the
//! prompt `(qemu) `, echoes each command line back (with terminal redraw
//! codes), prints the command's answer, if any (such as `invalid parameter:
//! bogus`), and ends with the prompt again. Reading up to that prompt after
//! every command keeps the socket drained and tells us whether QEMU took the
//! command.

use std::env;
use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// The monitor's prompt, which ends its banner and every answer.
const PROMPT: &[u8] = b"(qemu) ";
/// How long QEMU gets to create the socket, and to answer a command.
const TIMEOUT: Duration = Duration::from_secs(2);
/// Between connection attempts while QEMU is still starting.
const RETRY_PAUSE: Duration = Duration::from_millis(20);
/// Unix socket paths are limited to 108 bytes (104 on macOS), including a
/// terminating NUL; stay well below.
const MAX_PATH: usize = 100;

/// A fresh socket path for one QEMU: in the temp dir, unique per runner
/// process and boot. Falls back to `/tmp` if the temp dir's path is too long
/// for a socket.
pub fn socket_path() -> PathBuf {
    static BOOTS: AtomicUsize = AtomicUsize::new(0);
    let name = format!(
        "strata-{}-{}.mon",
        process::id(),
        BOOTS.fetch_add(1, Ordering::Relaxed)
    );
    let path = env::temp_dir().join(&name);
    if path.as_os_str().len() <= MAX_PATH {
        path
    } else {
        Path::new("/tmp").join(name)
    }
}

/// The argument for QEMU's `-monitor` option.
pub fn qemu_option(path: &Path) -> String {
    format!("unix:{},server=on,wait=off", path.display())
}

/// A connection to the monitor.
pub struct Monitor {
    stream: UnixStream,
}

impl Monitor {
    /// Connects to the socket at `path`, retrying while QEMU creates it, and
    /// reads the banner.
    pub fn connect(path: &Path) -> io::Result<Monitor> {
        let deadline = Instant::now() + TIMEOUT;
        let stream = loop {
            match UnixStream::connect(path) {
                Ok(stream) => break stream,
                Err(error) if Instant::now() >= deadline => return Err(error),
                Err(_) => thread::sleep(RETRY_PAUSE),
            }
        };
        let mut monitor = Monitor { stream };
        monitor.read_to_prompt()?;
        Ok(monitor)
    }

    /// Runs one monitor command and returns its answer, which is empty when
    /// the command succeeded quietly (as `sendkey` does).
    pub fn command(&mut self, command: &str) -> io::Result<String> {
        self.stream.write_all(format!("{command}\n").as_bytes())?;
        let output = self.read_to_prompt()?;
        Ok(answer(&output, command))
    }

    /// Reads until the output ends with the prompt; returns it without the
    /// prompt.
    fn read_to_prompt(&mut self) -> io::Result<Vec<u8>> {
        let deadline = Instant::now() + TIMEOUT;
        let mut output = Vec::new();
        let mut buffer = [0u8; 4096];
        while !output.ends_with(PROMPT) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "no answer from QEMU's monitor",
                ));
            }
            self.stream.set_read_timeout(Some(left))?;
            match self.stream.read(&mut buffer) {
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(count) => output.extend_from_slice(&buffer[..count]),
                Err(error)
                    if matches!(
                        error.kind(),
                        io::ErrorKind::WouldBlock
                            | io::ErrorKind::TimedOut
                            | io::ErrorKind::Interrupted
                    ) => {}
                Err(error) => return Err(error),
            }
        }
        output.truncate(output.len() - PROMPT.len());
        Ok(output)
    }
}

/// What the monitor said in reply to `command`, given everything it sent
/// before its next prompt: that is the echo of the command line (the line
/// that contains the command, among redraw codes) followed by the answer.
fn answer(output: &[u8], command: &str) -> String {
    String::from_utf8_lossy(output)
        .lines()
        .filter(|line| !line.contains(command))
        .map(|line| line.trim())
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quiet_command_has_an_empty_answer() {
        let output = b"s\x1b[K\x1b[Dse\x1b[K\x1b[Dsendkey e\x1b[K\r\n";
        assert_eq!(answer(output, "sendkey e"), "");
    }

    #[test]
    fn error_is_the_answer() {
        let output = b"sen\x1b[K\x1b[Dsendkey bogus\x1b[K\r\ninvalid parameter: bogus\r\n";
        assert_eq!(answer(output, "sendkey bogus"), "invalid parameter: bogus");
    }

    #[test]
    fn socket_paths_are_unique_and_short() {
        let first = socket_path();
        let second = socket_path();
        assert_ne!(first, second);
        assert!(first.as_os_str().len() <= MAX_PATH, "{}", first.display());
        assert!(first.to_string_lossy().contains(&process::id().to_string()));
    }
}
