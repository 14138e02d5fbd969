//! Ctrl-C (SIGINT) and SIGTERM, what batch schedulers send before a kill.
//! The first sets [`STOP`]: trials under way end within milliseconds, what
//! finished is written marked partial, and the command exits 128 + the
//! signal (130, 143). A second signal exits at once with that status.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::flag;

/// Set by the first signal; the runs' stop flag.
pub static STOP: AtomicBool = AtomicBool::new(false);
/// The signal that set STOP (0: none).
static SIGNAL: AtomicUsize = AtomicUsize::new(0);

/// Installs the handlers, once. Without them a signal still ends the
/// process, only without writing what finished.
pub fn install() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        for signal in [SIGINT, SIGTERM] {
            // The shutdown first: it acts only once STOP is set, that is on
            // the second signal.
            let _ = flag::register_conditional_shutdown(signal, 128 + signal, &STOP);
            let _ = flag::register_usize(signal, &SIGNAL, signal as usize);
            let _ = flag::register(signal, &STOP);
        }
    });
}

/// Whether a signal has asked the run to stop.
pub fn stopped() -> bool {
    STOP.load(Ordering::Relaxed)
}

/// The exit status of a command a signal stopped: 128 + the signal.
pub fn exit_status() -> Option<u8> {
    let signal = SIGNAL.load(Ordering::Relaxed);
    u8::try_from(128 + signal).ok().filter(|_| signal != 0)
}
