/* One threshold for a test's many statistical comparisons (docs/design.md §7): with n of them,
 * a correct code exceeds z = family_wise_z(alpha, n) standard errors in any one of them with
 * probability alpha in all (Bonferroni, two-sided normal). The tests use alpha = 0.002. */
#ifndef INVRG_TESTS_FAMILY_WISE_H
#define INVRG_TESTS_FAMILY_WISE_H

#include <math.h>

#define FAMILY_WISE_ALPHA 0.002

/* z with P(|N(0,1)| > z) = alpha / n, by bisection on erfc. */
static inline double family_wise_z(double alpha, int n) {
  const double p = alpha / n;
  double lo = 0, hi = 40;
  for (int i = 0; i < 200; i++) {
    const double mid = (lo + hi) / 2;
    if (erfc(mid / sqrt(2.0)) > p)
      lo = mid;
    else
      hi = mid;
  }
  return lo;
}

#endif
