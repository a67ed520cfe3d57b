# Writes the AutoARIMA reference fixture of the engine's tests
# (crates/horizon-engine/src/arima/tests_data.rs) from R's forecast package.
#
#   Rscript --vanilla bench/accuracy/arima_reference.R > crates/horizon-engine/src/arima/tests_data.rs
#
# The series are datasets that ship with R itself ('datasets' package, public domain /
# GPL-2 distribution), none from a forecasting competition. For each: R's auto.arima with its
# defaults, its orders, whether it kept a constant, and the mean forecast and 95% bounds for
# `h` steps.
suppressPackageStartupMessages(library(forecast))
sets <- list(
  list("AIR_PASSENGERS_LOG", log(AirPassengers), 24),
  list("US_ACC_DEATHS", USAccDeaths, 24),
  list("LDEATHS", ldeaths, 24),
  list("NOTTEM", nottem, 24),
  list("UK_GAS", UKgas, 8),
  list("AUSTRES", austres, 8),
  list("LYNX", lynx, 10),
  list("WWW_USAGE", WWWusage, 10),
  list("NILE", Nile, 10),
  list("LAKE_HURON", LakeHuron, 10),
  list("BJSALES", BJsales, 10),
  list("LH", lh, 10),
  list("SUNSPOT_YEAR", sunspot.year, 10)
)
num <- function(x) {
  s <- formatC(as.numeric(x), digits = 10, format = "g", flag = "#")
  s <- sub("\\.$", ".0", trimws(s))
  paste(s, collapse = ", ")
}
cat("//! Reference series and R's `forecast::auto.arima` results for them, written by\n")
cat("//! `bench/accuracy/arima_reference.R` (R ", as.character(getRversion()), ", forecast ",
    as.character(packageVersion("forecast")), "). The series ship with R (`datasets`).\n\n", sep = "")
cat("/// One reference: the series, its season, and what R chose and forecast.\n")
cat("pub(crate) struct Reference {\n    pub name: &'static str,\n    pub y: &'static [f64],\n    pub m: usize,\n")
cat("    /// (p, d, q, P, D, Q)\n    pub order: [usize; 6],\n    pub constant: bool,\n")
cat("    pub mean: &'static [f64],\n    pub lower95: &'static [f64],\n    pub upper95: &'static [f64],\n}\n\n")
cat("pub(crate) const REFERENCES: &[Reference] = &[\n")
for (s in sets) {
  name <- s[[1]]; x <- s[[2]]; h <- s[[3]]
  fit <- auto.arima(x)
  a <- fit$arma  # p, q, P, Q, m, d, D
  cons <- any(names(coef(fit)) %in% c("intercept", "drift", "mean"))
  fc <- forecast(fit, h = h, level = 95)
  cat("    Reference {\n")
  cat("        name: \"", name, "\",\n", sep = "")
  cat("        y: &[", num(x), "],\n", sep = "")
  cat("        m: ", frequency(x), ",\n", sep = "")
  cat("        order: [", a[1], ", ", a[6], ", ", a[2], ", ", a[3], ", ", a[7], ", ", a[4], "],\n", sep = "")
  cat("        constant: ", tolower(as.character(cons)), ",\n", sep = "")
  cat("        mean: &[", num(fc$mean), "],\n", sep = "")
  cat("        lower95: &[", num(fc$lower[, 1]), "],\n", sep = "")
  cat("        upper95: &[", num(fc$upper[, 1]), "],\n", sep = "")
  cat("    },\n")
  message(sprintf("%-20s n=%4d m=%2d %s", name, length(x), frequency(x), forecast:::arima.string(fit)))
}
cat("];\n")
