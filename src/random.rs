//! Random generators (xoshiro256**): the default one, shared by all threads
//! like PyTorch's default CPU generator and reseeded by `manual_seed`, and
//! `torch.Generator` objects passed as `generator=`.

use std::sync::{Arc, LazyLock};

use parking_lot::Mutex;

pub struct Generator {
    state: [u64; 4],
    seed: u64,
}

fn splitmix(x: &mut u64) -> u64 {
    *x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *x;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Generator {
    pub fn new(seed: u64) -> Generator {
        let mut s = seed;
        Generator { state: [splitmix(&mut s), splitmix(&mut s), splitmix(&mut s), splitmix(&mut s)], seed }
    }

    pub fn seed(&self) -> u64 {
        self.seed
    }

    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.state;
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// Uniform in [0, 1) with 53 random bits.
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Standard normal (Box-Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.uniform(); // (0, 1]: log stays finite
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// Uniform integer in [low, high).
    pub fn int_range(&mut self, low: i64, high: i64) -> i64 {
        let span = (high - low) as u64;
        low + (self.next_u64() % span) as i64
    }
}

/// Bytes in a generator state (`get_state`): the four state words, then
/// the seed, little-endian.
pub const STATE_BYTES: usize = 40;

impl Generator {
    /// A generator seeded from the clock, as PyTorch seeds its default one.
    pub fn nondeterministic() -> Generator {
        Generator::new(startup_seed())
    }

    pub fn state(&self) -> Vec<u8> {
        self.state.iter().chain(std::iter::once(&self.seed)).flat_map(|w| w.to_le_bytes()).collect()
    }

    /// Restores a `state()`; `None` if it has the wrong size.
    pub fn set_state(&mut self, bytes: &[u8]) -> Option<()> {
        if bytes.len() != STATE_BYTES {
            return None;
        }
        let word = |i: usize| u64::from_le_bytes(bytes[i * 8..i * 8 + 8].try_into().expect("8 bytes"));
        self.state = [word(0), word(1), word(2), word(3)];
        self.seed = word(4);
        Some(())
    }
}

fn startup_seed() -> u64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
    nanos ^ (std::process::id() as u64).rotate_left(32)
}

/// A generator several owners draw from (the default one, or a
/// `torch.Generator` object).
pub type SharedGenerator = Arc<Mutex<Generator>>;

static DEFAULT: LazyLock<SharedGenerator> = LazyLock::new(|| Arc::new(Mutex::new(Generator::nondeterministic())));

/// The default generator (seeded from the clock at first use).
pub fn default_generator() -> SharedGenerator {
    DEFAULT.clone()
}

/// Runs `f` with `generator`, or the default one when `None`.
pub fn with_generator<R>(generator: Option<&SharedGenerator>, f: impl FnOnce(&mut Generator) -> R) -> R {
    f(&mut generator.unwrap_or(&DEFAULT).lock())
}

pub fn manual_seed(seed: u64) {
    *DEFAULT.lock() = Generator::new(seed);
}

pub fn initial_seed() -> u64 {
    DEFAULT.lock().seed()
}
