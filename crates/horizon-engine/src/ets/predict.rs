//! Point forecasts and prediction intervals (exact, Hyndman et al.'s variance, or simulated
//! sample paths), and the fitted model as a [`FittedModel`].

use rand::{SeedableRng, rngs::SmallRng, seq::SliceRandom};

use super::*;

impl EtsFit {
    /// The selected form, e.g. `ETS(M,Ad,M)`.
    pub fn spec(&self) -> String {
        self.inner.spec.label()
    }

    /// Smoothing parameters `(alpha, beta, gamma, phi)`; absent components are `None`.
    pub fn parameters(&self) -> (f64, Option<f64>, Option<f64>, Option<f64>) {
        let s = self.inner.spec;
        let p = self.inner.params;
        (
            p.alpha,
            s.has_trend().then_some(p.beta),
            s.seasonal().then_some(p.gamma),
            s.damped.then_some(p.phi),
        )
    }

    /// Innovation variance estimate `sum e^2 / (n - np)` (relative errors for multiplicative
    /// error, so scale-free; on the data scale otherwise).
    pub fn sigma2(&self) -> f64 {
        if self.inner.spec.error == Comp::M {
            self.inner.sigma2
        } else {
            self.inner.sigma2 * self.scale * self.scale
        }
    }

    /// Number of estimated parameters counted by the AICc (smoothing parameters, initial
    /// states, plus one for the variance).
    pub fn n_params(&self) -> usize {
        self.inner.n_params
    }

    /// `-2 log L` up to constants, as R's `ets` reports it, on the data scale.
    pub fn neg2_loglik(&self) -> f64 {
        let n = self.inner.fitted.len() as f64;
        self.inner.lik + 2.0 * n * self.scale.ln()
    }

    /// Point forecasts on the internal (scaled) data.
    pub(super) fn mean_scaled(&self, horizon: usize) -> Vec<f64> {
        let f = &self.inner;
        Self::project(f, f.level, f.growth, &f.seas, horizon)
    }

    /// Mean forecasts (scaled) of `f`'s form and parameters from the given final states
    /// (`seas[i]` applies to step `i + 1`).
    pub(super) fn project(
        f: &Fitted,
        level: f64,
        growth: f64,
        seas: &[f64],
        horizon: usize,
    ) -> Vec<f64> {
        let mut out = Vec::with_capacity(horizon);
        let mut phi_h = 0.0;
        let mut pw = 1.0;
        for h in 1..=horizon {
            if f.spec.damped {
                pw *= f.params.phi;
                phi_h += pw;
            } else {
                phi_h = h as f64;
            }
            let base = if f.spec.has_trend() {
                level + phi_h * growth
            } else {
                level
            };
            let v = if f.spec.seasonal() && !seas.is_empty() {
                let s = seas[(h - 1) % seas.len()];
                if f.spec.season == Comp::M {
                    base * s
                } else {
                    base + s
                }
            } else {
                base
            };
            out.push(v);
        }
        out
    }

    /// `c_j = alpha + beta * (phi + .. + phi^j) + gamma * [j % m == 0]` for `j = 1..horizon`.
    pub(super) fn c_values(&self, horizon: usize) -> Vec<f64> {
        let f = &self.inner;
        let p = f.params;
        let mut out = Vec::with_capacity(horizon);
        let mut phi_j = 0.0;
        let mut pw = 1.0;
        for j in 1..=horizon {
            if f.spec.damped {
                pw *= p.phi;
                phi_j += pw;
            } else {
                phi_j = j as f64;
            }
            let mut c = p.alpha;
            if f.spec.has_trend() {
                c += p.beta * phi_j;
            }
            if f.spec.seasonal() && f.m > 1 && j % f.m == 0 {
                c += p.gamma;
            }
            out.push(c);
        }
        out
    }

    /// Forecast variances (scaled data) for the analytic classes.
    pub(super) fn variances(&self, mean: &[f64]) -> Vec<f64> {
        let h = mean.len();
        let s2 = self.inner.sigma2;
        let c = self.c_values(h);
        if self.inner.spec.error == Comp::A {
            let mut acc = 0.0;
            (0..h)
                .map(|i| {
                    if i > 0 {
                        acc += c[i - 1] * c[i - 1];
                    }
                    s2 * (1.0 + acc)
                })
                .collect()
        } else {
            let mut theta = vec![0.0; h];
            for i in 0..h {
                let mut sum = 0.0;
                for j in 1..=i {
                    sum += c[j - 1] * c[j - 1] * theta[i - j];
                }
                theta[i] = mean[i] * mean[i] + s2 * sum;
            }
            (0..h)
                .map(|i| (1.0 + s2) * theta[i] - mean[i] * mean[i])
                .collect()
        }
    }

    /// Sample paths (scaled data) for the multiplicative-season models: `paths[step][path]`,
    /// sorted per step.
    ///
    /// The shocks of a step are Latin-hypercube draws: the [`SIM_PATHS`] quantiles of the
    /// normal at `(i + 1/2) / SIM_PATHS`, in an order shuffled afresh at every step. Each step's
    /// shocks then have exactly the normal's spread, so the simulated quantiles vary far less
    /// between seeds than with independent draws of twice as many paths, and there is no
    /// logarithm or cosine per draw. The paths advance together, step by step (the seasonal
    /// ring position is the same for all of them), so the inner loop runs over paths.
    pub(super) fn simulate(&self, horizon: usize) -> Vec<Vec<f64>> {
        let f = &self.inner;
        let sd = f.sigma2.max(0.0).sqrt();
        let mut rng = SmallRng::seed_from_u64(SIM_SEED);
        let n = SIM_PATHS;
        let mut shocks: Vec<f64> = (0..n)
            .map(|i| sd * normal_quantile((i as f64 + 0.5) / n as f64))
            .collect();
        let p = f.params;
        let ratio = p.beta / p.alpha;
        let trend = f.spec.has_trend();
        let mult_err = f.spec.error == Comp::M;
        let m = f.seas.len();
        let mut level = vec![f.level; n];
        let mut growth = vec![f.growth; n];
        // seas[k * n + i]: path i's seasonal state k.
        let mut seas: Vec<f64> = f
            .seas
            .iter()
            .flat_map(|s| std::iter::repeat_n(*s, n))
            .collect();
        let mut out = Vec::with_capacity(horizon);
        let mut k = 0;
        for _ in 0..horizon {
            shocks.shuffle(&mut rng);
            let ring = if m > 0 {
                &mut seas[k * n..(k + 1) * n]
            } else {
                &mut [][..]
            };
            let mut step = Vec::with_capacity(n);
            for i in 0..n {
                let (l, b) = (level[i], growth[i]);
                let phib = if trend { p.phi * b } else { 0.0 };
                let q = l + phib;
                let s_old = if m > 0 { ring[i] } else { 1.0 };
                let mu = match f.spec.season {
                    Comp::M => q * s_old,
                    Comp::A => q + s_old,
                    Comp::N => q,
                };
                let e = shocks[i];
                let yt = if mult_err { mu * (1.0 + e) } else { mu + e };
                step.push(yt);
                let pp = match f.spec.season {
                    Comp::M => {
                        if s_old.abs() < TOL {
                            HUGEN
                        } else {
                            yt / s_old
                        }
                    }
                    Comp::A => yt - s_old,
                    Comp::N => yt,
                };
                let l_new = q + p.alpha * (pp - q);
                if trend {
                    growth[i] = phib + ratio * ((l_new - l) - phib);
                }
                if m > 0 {
                    let tt = match f.spec.season {
                        Comp::M => {
                            if q.abs() < TOL {
                                HUGEN
                            } else {
                                yt / q
                            }
                        }
                        _ => yt - q,
                    };
                    ring[i] = s_old + p.gamma * (tt - s_old);
                }
                level[i] = l_new;
            }
            if m > 0 {
                k = (k + 1) % m;
            }
            step.sort_unstable_by(f64::total_cmp);
            out.push(step);
        }
        out
    }
}

impl FittedModel for EtsFit {
    fn kind(&self) -> ModelKind {
        ModelKind::AutoEts
    }

    fn forecast_from(&self, origin: usize, horizon: usize) -> Option<Vec<f64>> {
        let local = origin.checked_sub(self.start)?;
        let f = &self.inner;
        if local < 4 || local > self.used.len() || f.x.is_empty() {
            return None;
        }
        let mut seas = vec![0.0; if f.spec.seasonal() { f.m } else { 0 }];
        let (params, l0, b0) = unpack(&f.x, f.spec, f.m, &mut seas)?;
        let (_, level, growth, k) = filter(
            &self.used[..local],
            f.spec,
            &params,
            l0,
            b0,
            &mut seas,
            None,
        );
        seas.rotate_left(k);
        let mean = Self::project(f, level, growth, &seas, horizon);
        mean.iter()
            .all(|v| v.is_finite())
            .then(|| mean.into_iter().map(|v| v * self.scale).collect())
    }

    fn forecast_mean(&self, horizon: usize) -> Vec<f64> {
        self.mean_scaled(horizon)
            .into_iter()
            .map(|v| v * self.scale)
            .collect()
    }

    fn forecast_quantiles(&self, horizon: usize, levels: &QuantileLevels) -> Option<Vec<Vec<f64>>> {
        let levels = levels.levels();
        let mean = self.mean_scaled(horizon);
        let s = self.inner.spec;
        let out: Vec<Vec<f64>> = if s.error == Comp::M && s.season == Comp::M {
            let paths = self.simulate(horizon);
            levels
                .iter()
                .map(|q| {
                    paths
                        .iter()
                        .map(|p| {
                            // Diverged paths (+inf, NaN) sort last and are left out.
                            let finite =
                                p.partition_point(|v| v.is_finite() || *v == f64::NEG_INFINITY);
                            crate::util::quantile_sorted(&p[..finite], *q) * self.scale
                        })
                        .collect()
                })
                .collect()
        } else {
            let var = self.variances(&mean);
            levels
                .iter()
                .map(|q| {
                    let z = normal_quantile(*q);
                    mean.iter()
                        .zip(&var)
                        .map(|(mu, v)| (mu + z * v.max(0.0).sqrt()) * self.scale)
                        .collect()
                })
                .collect()
        };
        out.iter()
            .all(|row| row.iter().all(|v| v.is_finite()))
            .then_some(out)
    }

    fn fitted(&self) -> &[f64] {
        &self.fitted
    }

    fn aicc(&self) -> Option<f64> {
        Some(self.aicc)
    }
}
