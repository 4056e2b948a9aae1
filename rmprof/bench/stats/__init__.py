"""Robust statistics for noisy benchmark samples, using only the standard library.

The harness runs on a shared, noisy machine, so everything here is built on medians and
percentiles rather than means, and every interval comes from a seeded bootstrap so that a
report can be regenerated bit for bit from the same samples (for a given CPython version,
whose ``random`` algorithms are stable).

One job a module: ``descriptive`` (percentiles, median, IQR, MAD), ``outliers`` (Tukey's fences),
``bootstrap`` (intervals, over rounds and paired), ``summary`` (one figure's summary),
``rounds_disagreement`` (do a figure's rounds disagree), ``significance`` (p-values, power, Holm),
``verdicts`` (before/after comparison) and ``wording`` (Criterion.rs messages).

Conventions:

* ``percentile`` takes ``q`` in percent (0..100) and interpolates linearly between closest
  ranks (numpy's default, "type 7"), so ``percentile(xs, 50) == median(xs)``.
* Intervals are percentile-bootstrap intervals at ``confidence`` (default 0.95).
* In ``verdicts.compare`` lower is better (times, instructions): a negative change is an improvement.
* The p-value of ``verdicts.compare`` is a two-sided bootstrap p-value obtained by inverting the
  percentile interval of the ratio of medians: it is the smallest ``1 - confidence`` at which
  that interval (same resamples, same interpolation) would exclude "no change", floored at
  ``1 / (resamples + 1)``. So ``p < 1 - confidence`` exactly when the reported interval
  excludes zero change, the p-value and the interval never contradict each other, and no
  extra resampling is needed. (A permutation test was rejected: a Python-level shuffle of
  400 samples costs ~0.2 ms, i.e. ~0.5 s for 2000 permutations.)
* Samples may come in *rounds*: groups measured in one fresh process each. On a shared machine
  most wall-time noise lies between processes (address-space layout, frequency, neighbours), so
  a bootstrap that treats every sample as independent draws intervals far narrower than a rerun's
  spread. With rounds, every interval comes from a two-stage (hierarchical) bootstrap: resample
  the rounds with replacement, then the samples within each chosen round. Resampling both levels
  slightly overstates the within-round part (Davison & Hinkley 1997, sec. 3.8), which errs on the
  side of covering a rerun. One sample per round is the ordinary bootstrap.
* Two groups measured in the same rounds (runtimes interleaved in one process, or a binary run
  right after it) are *paired*: their ratio is bootstrapped by resampling round indices jointly,
  so drift shared by both cancels, as in a paired test.
"""
