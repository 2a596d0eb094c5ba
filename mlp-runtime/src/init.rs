//! Seeded weight initialisation with the variance each scheme's analysis asks for.
//!
//! A weight `W_l` of shape `[N_l, N_{l−1}]` has fan-in `N_in = N_{l−1}` and fan-out
//! `N_out = N_l`. Each scheme picks `Var W`; the biases start at zero.
//!
//! | [`Scale`] | `Var W` | keeps |
//! | --- | --- | --- |
//! | [`Scale::LeCun`] | `1 / N_in` | the activations' variance, forward |
//! | [`Scale::FanOut`] | `1 / N_out` | the gradients' variance, backward |
//! | [`Scale::Xavier`] | `2 / (N_in + N_out)` | a compromise of the two (Glorot & Bengio, 2010) |
//! | [`Scale::He`] | `2 / N_in` | the variance through ReLU, which zeroes half (He et al., 2015) |
//! | [`Scale::Std`]`(s)` | `s²` | a fixed scale, for experiments |
//!
//! The weights are drawn from `Normal(0, Var W)` or from `Uniform(−a, a)` with
//! `a = √(3 Var W)`, which has the same variance.
//!
//! # Reproducibility
//!
//! The draws come from [`ChaCha8Rng`], whose stream is fixed by its specification. A uniform
//! `u ∈ [0, 1)` is `(x >> 11) · 2⁻⁵³` for the next 64-bit output `x`, and a normal pair comes
//! from Marsaglia's polar method using only IEEE-754 arithmetic, the correctly rounded square
//! root and the portable `libm` logarithm. So the same seed gives bit-identical weights on every
//! machine, in `f64`, and in `f32` after rounding each `f64` draw to nearest.

use crate::{ParamKind, Parameters, Scalar};
use rand::{Rng, SeedableRng};

/// The generator every draw comes from, re-exported for [`Init::init_with_rng`].
pub use rand_chacha::ChaCha8Rng;

/// How a scheme sets `Var W` from the layer's fan-in and fan-out.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Scale {
    /// `Var W = 1 / N_in` (LeCun et al., 1998).
    LeCun,
    /// `Var W = 1 / N_out`.
    FanOut,
    /// `Var W = 2 / (N_in + N_out)` (Xavier Glorot and Yoshua Bengio, 2010).
    Xavier,
    /// `Var W = 2 / N_in` (Kaiming He et al., 2015), for ReLU layers.
    He,
    /// A fixed standard deviation: `Var W = s²`.
    Std(f64),
}

/// The distribution of each weight, given its variance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Distribution {
    /// `Normal(0, Var W)`.
    Normal,
    /// `Uniform(−a, a)` with `a = √(3 Var W)`.
    Uniform,
}

/// A weight initialisation: a variance scheme and a distribution. Biases start at zero.
///
/// ```
/// # use mlp::init::Init;
/// assert_eq!(Init::XAVIER_UNIFORM.variance(64, 32), 2.0 / (64.0 + 32.0));
/// assert_eq!(Init::XAVIER_UNIFORM.limit(64, 32), (3.0 * 2.0 / 96.0f64).sqrt());
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Init {
    /// How `Var W` follows from the fans.
    pub scale: Scale,
    /// Normal or uniform.
    pub distribution: Distribution,
}

impl Init {
    /// The scheme `scale` with the distribution `distribution`.
    pub const fn new(scale: Scale, distribution: Distribution) -> Init {
        Init {
            scale,
            distribution,
        }
    }

    /// LeCun normal, `Normal(0, 1/N_in)`.
    pub const LECUN_NORMAL: Init = Init::new(Scale::LeCun, Distribution::Normal);
    /// LeCun uniform, `Uniform(±√(3/N_in))`.
    pub const LECUN_UNIFORM: Init = Init::new(Scale::LeCun, Distribution::Uniform);
    /// Fan-out normal, `Normal(0, 1/N_out)`.
    pub const FAN_OUT_NORMAL: Init = Init::new(Scale::FanOut, Distribution::Normal);
    /// Fan-out uniform, `Uniform(±√(3/N_out))`.
    pub const FAN_OUT_UNIFORM: Init = Init::new(Scale::FanOut, Distribution::Uniform);
    /// Xavier/Glorot normal, `Normal(0, 2/(N_in + N_out))`.
    pub const XAVIER_NORMAL: Init = Init::new(Scale::Xavier, Distribution::Normal);
    /// Xavier/Glorot uniform, `Uniform(±√(6/(N_in + N_out)))`.
    pub const XAVIER_UNIFORM: Init = Init::new(Scale::Xavier, Distribution::Uniform);
    /// He/Kaiming normal, `Normal(0, 2/N_in)`.
    pub const HE_NORMAL: Init = Init::new(Scale::He, Distribution::Normal);
    /// He/Kaiming uniform, `Uniform(±√(6/N_in))`.
    pub const HE_UNIFORM: Init = Init::new(Scale::He, Distribution::Uniform);

    /// `Normal(0, std²)` for every weight, whatever the layer's size.
    pub const fn normal(std: f64) -> Init {
        Init::new(Scale::Std(std), Distribution::Normal)
    }

    /// `Var W` for a layer with these fans.
    pub fn variance(&self, fan_in: usize, fan_out: usize) -> f64 {
        let (n_in, n_out) = (fan_in as f64, fan_out as f64);
        match self.scale {
            Scale::LeCun => 1.0 / n_in,
            Scale::FanOut => 1.0 / n_out,
            Scale::Xavier => 2.0 / (n_in + n_out),
            Scale::He => 2.0 / n_in,
            Scale::Std(s) => s * s,
        }
    }

    /// The bound `a = √(3 Var W)` of the uniform distribution with the scheme's variance.
    pub fn limit(&self, fan_in: usize, fan_out: usize) -> f64 {
        (3.0 * self.variance(fan_in, fan_out)).sqrt()
    }

    /// Draws every weight of `params` and zeroes every bias, from `ChaCha8Rng` seeded with
    /// `seed` through [`SeedableRng::seed_from_u64`] (stream 0).
    pub fn init<P: Parameters>(&self, params: &mut P, seed: u64) {
        self.init_with_rng(params, &mut ChaCha8Rng::seed_from_u64(seed));
    }

    /// Draws every weight of `params`, in the order of [`Parameters::PARAM_INFO`] and row-major
    /// within a tensor, and zeroes every bias.
    pub fn init_with_rng<P: Parameters>(&self, params: &mut P, rng: &mut ChaCha8Rng) {
        let mut sampler = Sampler::new(rng);
        params.visit_mut(|info, values| match info.kind {
            ParamKind::Bias => values.fill(P::Scalar::ZERO),
            ParamKind::Weight => {
                let fan_out = info.shape.first().copied().unwrap_or(1);
                let fan_in = info.shape.get(1).copied().unwrap_or(1);
                let var = self.variance(fan_in, fan_out);
                match self.distribution {
                    Distribution::Normal => {
                        let std = var.sqrt();
                        values
                            .iter_mut()
                            .for_each(|w| *w = P::Scalar::from_f64(std * sampler.normal()));
                    }
                    Distribution::Uniform => {
                        let a = (3.0 * var).sqrt();
                        values
                            .iter_mut()
                            .for_each(|w| *w = P::Scalar::from_f64(a * sampler.symmetric()));
                    }
                }
            }
        });
    }
}

/// `ChaCha8Rng` seeded with `seed` through [`SeedableRng::seed_from_u64`], on stream `stream`:
/// the initialisation draws from stream 0, the trainer's shuffling from 1 and the data splits
/// from 2, so one seed can serve several uses without reusing random bits.
#[must_use]
pub fn generator(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    rng
}

/// Portable draws from a [`ChaCha8Rng`], bit-identical on every machine (see the module's
/// "Reproducibility"): the initialisations draw through it, and so can a program's inputs.
///
/// ```
/// use mlp::init::{generator, Sampler};
///
/// let mut rng = generator(7, 3);
/// let mut draws = Sampler::new(&mut rng);
/// let (u, s, n) = (draws.unit(), draws.symmetric(), draws.normal());
/// assert!((0.0..1.0).contains(&u) && (-1.0..1.0).contains(&s) && n.is_finite());
///
/// let mut again = generator(7, 3);
/// assert_eq!(Sampler::new(&mut again).unit(), u);
/// ```
#[derive(Debug)]
pub struct Sampler<'a> {
    rng: &'a mut ChaCha8Rng,
    /// The second value of the last polar pair.
    spare: Option<f64>,
}

impl<'a> Sampler<'a> {
    /// Draws from `rng`, which advances as they are taken.
    pub fn new(rng: &'a mut ChaCha8Rng) -> Self {
        Sampler { rng, spare: None }
    }

    /// `u ∈ [0, 1)`: the top 53 bits of the next output, times `2⁻⁵³`.
    pub fn unit(&mut self) -> f64 {
        (self.rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// `2u − 1 ∈ [−1, 1)`, uniform with variance `1/3`.
    pub fn symmetric(&mut self) -> f64 {
        2.0 * self.unit() - 1.0
    }

    /// A standard normal draw by Marsaglia's polar method: for `(u, v)` uniform in the unit
    /// disc without the origin and `s = u² + v²`, both `u f` and `v f` with
    /// `f = √(−2 ln s / s)` are independent `Normal(0, 1)`.
    pub fn normal(&mut self) -> f64 {
        if let Some(z) = self.spare.take() {
            return z;
        }
        loop {
            let u = self.symmetric();
            let v = self.symmetric();
            let s = u * u + v * v;
            if s > 0.0 && s < 1.0 {
                let f = (-2.0 * libm::log(s) / s).sqrt();
                self.spare = Some(v * f);
                return u * f;
            }
        }
    }
}
