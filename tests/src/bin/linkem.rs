//! A userspace link emulator for the network-namespace tests: the kernel
//! they run on has no netem, so this moves Ethernet frames between two TAP
//! devices, delaying, losing and rate-limiting them in each direction.
//!
//! Usage:
//!
//! ```text
//! trustmesh-linkem --a NS:IFACE --b NS:IFACE [--delay-ms 600] [--loss 0.25]
//!                  [--rate-kbit 256] [--queue-bytes 65536] [--seed 1]
//! ```
//!
//! It creates TAP device `IFACE` in network namespace `NS` (a name under
//! `/run/netns`, as `ip netns add` makes) for each of `--a` and `--b`,
//! prints `ready` once both exist, and forwards until its standard input
//! closes; then it prints its counters to standard error and exits, and the
//! kernel removes both devices. Whoever starts it keeps its stdin open, so
//! the link goes away with its owner even when that owner is killed.
//!
//! Each direction is independent and applies, in this order: random loss
//! (each frame dropped with probability `--loss`, from a SplitMix64 stream
//! seeded by `--seed` and the direction, so a run is repeatable), a token
//! bucket of `--rate-kbit` kilobits per second (burst: one full frame)
//! behind a tail-drop queue of `--queue-bytes`, then a fixed delay of
//! `--delay-ms`. A rate of 0 means no rate limit.
//!
//! The TUNSETIFF ioctl is the one unsafe call; the namespace switch and
//! polling go through `nix`.

#![allow(unsafe_code)]

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Read, Write};
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::fs::OpenOptionsExt;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sched::{CloneFlags, setns};

/// `TUNSETIFF`: `_IOW('T', 202, int)`.
const TUNSETIFF: libc::c_ulong = 0x4004_54ca;
/// The largest frame read at once (TAP devices without offloads hand out
/// at most MTU + Ethernet header; this leaves room for a jumbo MTU).
const FRAME_MAX: usize = 65_536;

/// `struct ifreq` as TUNSETIFF reads it: the name, then the flags at the
/// start of the 24-byte union.
#[repr(C)]
struct IfReq {
    name: [u8; libc::IFNAMSIZ],
    flags: libc::c_short,
    _pad: [u8; 22],
}

/// One direction's parameters.
#[derive(Debug, Clone, Copy)]
struct Params {
    delay: Duration,
    loss: f64,
    /// Bytes per second; 0 for no limit.
    rate: f64,
    queue_bytes: usize,
}

struct Args {
    a: (String, String),
    b: (String, String),
    params: Params,
    seed: u64,
}

fn parse_args() -> Result<Args> {
    let mut a = None;
    let mut b = None;
    let mut params = Params {
        delay: Duration::from_millis(600),
        loss: 0.25,
        rate: 256_000.0 / 8.0,
        queue_bytes: 65_536,
    };
    let mut seed = 1;
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().with_context(|| format!("{flag} needs a value"))?;
        let side = |v: &str| -> Result<(String, String)> {
            let (ns, iface) = v
                .split_once(':')
                .with_context(|| format!("{flag} takes NS:IFACE, not {v:?}"))?;
            if iface.is_empty() || iface.len() >= libc::IFNAMSIZ {
                bail!("interface name {iface:?} must be 1 to 15 bytes");
            }
            Ok((ns.to_owned(), iface.to_owned()))
        };
        match flag.as_str() {
            "--a" => a = Some(side(&value)?),
            "--b" => b = Some(side(&value)?),
            "--delay-ms" => params.delay = Duration::from_millis(value.parse()?),
            "--loss" => {
                params.loss = value.parse()?;
                if !(0.0..=1.0).contains(&params.loss) {
                    bail!("--loss is a probability between 0 and 1");
                }
            }
            "--rate-kbit" => params.rate = value.parse::<f64>()? * 1000.0 / 8.0,
            "--queue-bytes" => params.queue_bytes = value.parse()?,
            "--seed" => seed = value.parse()?,
            _ => bail!("unknown flag {flag}"),
        }
    }
    Ok(Args {
        a: a.context("--a NS:IFACE is required")?,
        b: b.context("--b NS:IFACE is required")?,
        params,
        seed,
    })
}

/// Moves this thread into network namespace `ns` and creates TAP device
/// `iface` there (a device belongs to the namespace of whoever creates it).
fn tap_in(ns: &str, iface: &str) -> Result<File> {
    let nsfile = File::open(format!("/run/netns/{ns}"))
        .with_context(|| format!("network namespace {ns}"))?;
    setns(nsfile.as_fd(), CloneFlags::CLONE_NEWNET).with_context(|| format!("setns {ns}"))?;
    let tun = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NONBLOCK)
        .open("/dev/net/tun")
        .context("/dev/net/tun")?;
    let mut req = IfReq {
        name: [0; libc::IFNAMSIZ],
        flags: (libc::IFF_TAP | libc::IFF_NO_PI) as libc::c_short,
        _pad: [0; 22],
    };
    req.name[..iface.len()].copy_from_slice(iface.as_bytes());
    // SAFETY: TUNSETIFF reads (and writes back the chosen name into) one
    // `struct ifreq`, which `IfReq` lays out with its full 40-byte size; the
    // descriptor is an open /dev/net/tun.
    let rc = unsafe { libc::ioctl(tun.as_raw_fd(), TUNSETIFF, &mut req as *mut IfReq) };
    if rc < 0 {
        return Err(std::io::Error::last_os_error()).context(format!("TUNSETIFF {iface} in {ns}"));
    }
    Ok(tun)
}

/// SplitMix64: a small, good enough, seeded source of loss decisions.
struct Rng(u64);

impl Rng {
    fn next_f64(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[derive(Debug, Default)]
struct Counters {
    frames_in: u64,
    lost: u64,
    queue_full: u64,
    frames_out: u64,
    bytes_out: u64,
    write_failed: u64,
}

/// One direction of the link.
struct Direction {
    name: &'static str,
    params: Params,
    rng: Rng,
    /// Frames waiting for tokens, and their total size.
    queue: VecDeque<Vec<u8>>,
    queued: usize,
    /// Bytes of credit, at most one full frame.
    tokens: f64,
    refilled: Instant,
    /// Frames on the wire, due in order (the delay is fixed).
    wire: VecDeque<(Instant, Vec<u8>)>,
    counters: Counters,
}

impl Direction {
    fn new(name: &'static str, params: Params, seed: u64, now: Instant) -> Self {
        Self {
            name,
            params,
            rng: Rng(seed),
            queue: VecDeque::new(),
            queued: 0,
            tokens: 0.0,
            refilled: now,
            wire: VecDeque::new(),
            counters: Counters::default(),
        }
    }

    /// A frame arrived at this direction's input.
    fn arrive(&mut self, frame: &[u8], now: Instant) {
        self.counters.frames_in += 1;
        if self.rng.next_f64() < self.params.loss {
            self.counters.lost += 1;
            return;
        }
        if self.params.rate <= 0.0 {
            self.wire
                .push_back((now + self.params.delay, frame.to_vec()));
            return;
        }
        if self.queued + frame.len() > self.params.queue_bytes {
            self.counters.queue_full += 1;
            return;
        }
        self.queued += frame.len();
        self.queue.push_back(frame.to_vec());
    }

    /// Moves what the bucket allows onto the wire and writes what is due
    /// to `out`; returns when something is next due.
    fn advance(&mut self, now: Instant, out: &mut File) -> Option<Instant> {
        let burst = 1600.0_f64.max(self.queue.front().map_or(0, Vec::len) as f64);
        if self.params.rate > 0.0 {
            let dt = now.saturating_duration_since(self.refilled).as_secs_f64();
            self.tokens = (self.tokens + dt * self.params.rate).min(burst);
            self.refilled = now;
            while let Some(len) = self.queue.front().map(Vec::len) {
                if self.tokens < len as f64 {
                    break;
                }
                self.tokens -= len as f64;
                self.queued -= len;
                if let Some(frame) = self.queue.pop_front() {
                    self.wire.push_back((now + self.params.delay, frame));
                }
            }
        }
        while self.wire.front().is_some_and(|(due, _)| *due <= now) {
            let Some((_, frame)) = self.wire.pop_front() else {
                break;
            };
            // A TAP device takes a frame whole or not at all.
            match out.write(&frame) {
                Ok(n) if n == frame.len() => {
                    self.counters.frames_out += 1;
                    self.counters.bytes_out += frame.len() as u64;
                }
                Ok(_) | Err(_) => self.counters.write_failed += 1,
            }
        }
        let tokens_at = self.queue.front().map(|f| {
            let need = (f.len() as f64 - self.tokens).max(0.0);
            now + Duration::from_secs_f64(need / self.params.rate)
        });
        let wire_at = self.wire.front().map(|(due, _)| *due);
        match (tokens_at, wire_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// Reads every frame waiting on `from` into `dir`.
fn drain(from: &mut File, dir: &mut Direction, buf: &mut [u8]) -> Result<()> {
    loop {
        match from.read(buf) {
            Ok(0) => return Ok(()),
            Ok(n) => dir.arrive(&buf[..n], Instant::now()),
            Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(()),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e).context(format!("reading the {} input", dir.name)),
        }
    }
}

fn main() -> Result<()> {
    let args = parse_args()?;
    let mut a = tap_in(&args.a.0, &args.a.1)?;
    let mut b = tap_in(&args.b.0, &args.b.1)?;
    let now = Instant::now();
    let mut ab = Direction::new("a->b", args.params, args.seed, now);
    let mut ba = Direction::new("b->a", args.params, args.seed ^ 0x5bd1_e995, now);
    println!("ready");
    std::io::stdout().flush()?;

    let stdin = std::io::stdin();
    let mut buf = vec![0u8; FRAME_MAX];
    loop {
        let now = Instant::now();
        let next = [ab.advance(now, &mut b), ba.advance(now, &mut a)]
            .into_iter()
            .flatten()
            .min();
        let timeout = next.map_or(PollTimeout::from(1000u16), |t| {
            // Round up so a wake-up is never early by less than a millisecond.
            let ms = t.saturating_duration_since(now).as_micros().div_ceil(1000);
            PollTimeout::from(u16::try_from(ms.min(1000)).unwrap_or(1000))
        });
        let (ra, rb, rin) = {
            let mut fds = [
                PollFd::new(a.as_fd(), PollFlags::POLLIN),
                PollFd::new(b.as_fd(), PollFlags::POLLIN),
                PollFd::new(stdin.as_fd(), PollFlags::POLLIN),
            ];
            match poll(&mut fds, timeout) {
                Ok(_) => {}
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(e).context("poll"),
            }
            let ready = |f: &PollFd| f.revents().is_some_and(|r| !r.is_empty());
            (ready(&fds[0]), ready(&fds[1]), ready(&fds[2]))
        };
        if rin {
            // Anything on stdin, or its end, stops the link.
            break;
        }
        if ra {
            drain(&mut a, &mut ab, &mut buf)?;
        }
        if rb {
            drain(&mut b, &mut ba, &mut buf)?;
        }
    }
    for d in [&ab, &ba] {
        eprintln!("{} {:?}", d.name, d.counters);
    }
    Ok(())
}
