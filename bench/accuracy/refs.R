# R reference forecasts for the accuracy benchmark: forecast::ets, auto.arima, thetaf.
#
# Usage: Rscript refs.R SUBSET_DIR OUT_DIR METHODS CORES
#   SUBSET_DIR  folder holding train.csv (unique_id,ds,y) and meta.json
#   OUT_DIR     where <method>.csv and <method>.json are written
#   METHODS     comma-separated subset of: r_ets,r_arima,r_theta
#   CORES       parallel workers (parallel::mclapply), e.g. 2
#
# Each <method>.csv has columns unique_id,ds,mean,lo-80,hi-80,lo-95,hi-95.
# Each <method>.json records wall seconds (fitting + forecasting all series of the
# subset, excluding data loading) and the ids of series where the method failed.
# A series whose fit fails (error or non-finite output) falls back to
# forecast::snaive (or forecast::naive when the series is shorter than two
# seasons) and is listed under "fallback_ids" so the report can say so.

suppressPackageStartupMessages({
  library(forecast)
  library(parallel)
})

args <- commandArgs(trailingOnly = TRUE)
if (length(args) != 4) {
  stop("usage: Rscript refs.R SUBSET_DIR OUT_DIR METHODS CORES")
}
subset_dir <- args[1]
out_dir <- args[2]
methods <- strsplit(args[3], ",")[[1]]
cores <- as.integer(args[4])

read_meta_int <- function(txt, key) {
  m <- regmatches(txt, regexpr(paste0('"', key, '":\\s*[0-9]+'), txt))
  if (length(m) != 1) stop(paste("meta.json has no", key))
  as.integer(sub(".*:\\s*", "", m))
}
meta_txt <- paste(readLines(file.path(subset_dir, "meta.json")), collapse = "")
h <- read_meta_int(meta_txt, "horizon")
m <- read_meta_int(meta_txt, "season_length")

train <- read.csv(file.path(subset_dir, "train.csv"), stringsAsFactors = FALSE,
                  colClasses = c("character", "integer", "numeric"))
ids <- unique(train$unique_id)
series <- split(train, factor(train$unique_id, levels = ids))
series <- lapply(series, function(d) d[order(d$ds), ])

levels <- c(80, 95)

fit_one <- function(method, y) {
  switch(method,
    r_ets = forecast(ets(y), h = h, level = levels),
    r_arima = forecast(auto.arima(y), h = h, level = levels),
    r_theta = thetaf(y, h = h, level = levels),
    stop(paste("unknown method", method))
  )
}

fallback_one <- function(y) {
  if (frequency(y) > 1 && length(y) >= 2 * frequency(y)) {
    snaive(y, h = h, level = levels)
  } else {
    naive(y, h = h, level = levels)
  }
}

as_rows <- function(fc, uid, n) {
  lo <- as.matrix(fc$lower)
  hi <- as.matrix(fc$upper)
  data.frame(
    unique_id = uid,
    ds = n + seq_len(h) - 1L,
    mean = as.numeric(fc$mean),
    lo80 = as.numeric(lo[, 1]), hi80 = as.numeric(hi[, 1]),
    lo95 = as.numeric(lo[, 2]), hi95 = as.numeric(hi[, 2]),
    stringsAsFactors = FALSE
  )
}

run_series <- function(method, d) {
  y <- ts(d$y, frequency = m)
  uid <- d$unique_id[1]
  n <- nrow(d)
  err <- NULL
  rows <- tryCatch({
    r <- as_rows(suppressWarnings(fit_one(method, y)), uid, n)
    if (nrow(r) != h || !all(is.finite(as.matrix(r[, 3:7])))) stop("non-finite or short forecast")
    r
  }, error = function(e) {
    err <<- conditionMessage(e)
    NULL
  })
  if (is.null(rows)) {
    rows <- as_rows(fallback_one(y), uid, n)
    return(list(rows = rows, failed = uid, error = err))
  }
  list(rows = rows, failed = NULL, error = NULL)
}

json_str <- function(x) paste0('"', gsub('(["\\\\])', "\\\\\\1", x), '"')

dir.create(out_dir, recursive = TRUE, showWarnings = FALSE)
for (method in methods) {
  t0 <- proc.time()[["elapsed"]]
  res <- mclapply(series, function(d) run_series(method, d), mc.cores = cores,
                  mc.preschedule = FALSE)
  secs <- proc.time()[["elapsed"]] - t0
  bad <- vapply(res, function(r) inherits(r, "try-error") || is.null(r$rows), logical(1))
  if (any(bad)) stop(paste(method, ": worker crashed on", sum(bad), "series"))
  out <- do.call(rbind, lapply(res, `[[`, "rows"))
  names(out) <- c("unique_id", "ds", "mean", "lo-80", "hi-80", "lo-95", "hi-95")
  write.csv(out, file.path(out_dir, paste0(method, ".csv")), row.names = FALSE, quote = FALSE)
  failed <- unlist(lapply(res, `[[`, "failed"))
  errors <- unlist(lapply(res, `[[`, "error"))
  js <- paste0(
    "{\"method\": ", json_str(method),
    ", \"seconds\": ", sprintf("%.3f", secs),
    ", \"n_series\": ", length(series),
    ", \"cores\": ", cores,
    ", \"fallback_ids\": [", paste(vapply(failed, json_str, ""), collapse = ", "), "]",
    ", \"fallback_errors\": [", paste(vapply(errors, json_str, ""), collapse = ", "), "]",
    ", \"fallback\": \"forecast::snaive (naive if n < 2m)\"",
    "}\n")
  writeLines(js, file.path(out_dir, paste0(method, ".json")), sep = "")
  cat(sprintf("    %-9s %5d series  %7.1fs  fallbacks: %d\n", method, length(series), secs, length(failed)))
}
