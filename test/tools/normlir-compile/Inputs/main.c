/* A C program with no MLIR in sight: includes only the generated header,
   calls the AOT-compiled LayerNorm and checks it against a double reference. */
#include "norms.h"

#include <math.h>
#include <stdio.h>

int main(void) {
  static float x[576], w[12], b[12], y[576], mean[48], rstd[48];
  for (int i = 0; i < 576; ++i)
    x[i] = (float)sin(0.37 * i) * 3.0f + (float)(i % 7);
  for (int i = 0; i < 12; ++i) {
    w[i] = 0.5f + 0.1f * i;
    b[i] = 0.05f * i - 0.2f;
  }
  int rc = ln(x, w, b, y, mean, rstd);
  double maxErr = 0;
  for (int r = 0; r < 48; ++r) {
    double m = 0, v = 0;
    for (int i = 0; i < 12; ++i)
      m += x[r * 12 + i];
    m /= 12;
    for (int i = 0; i < 12; ++i)
      v += (x[r * 12 + i] - m) * (x[r * 12 + i] - m);
    v /= 12;
    for (int i = 0; i < 12; ++i) {
      double ref = (x[r * 12 + i] - m) / sqrt(v + 1e-5) * w[i] + b[i];
      maxErr = fmax(maxErr, fabs(ref - y[r * 12 + i]));
    }
    maxErr = fmax(maxErr, fabs(m - mean[r]));
    maxErr = fmax(maxErr, fabs(1 / sqrt(v + 1e-5) - rstd[r]) / rstd[r]);
  }
  printf("ln returned %d, max error below 1e-5: %s\n", rc,
         maxErr < 1e-5 ? "yes" : "no");
  /* bf16 RMSNorm of ones with unit weight: 1.0 (0x3f80) everywhere. */
  static uint16_t xb[256], wb[64], yb[256];
  for (int i = 0; i < 256; ++i)
    xb[i] = 0x3f80;
  for (int i = 0; i < 64; ++i)
    wb[i] = 0x3f80;
  rc = rms_bf16(xb, wb, yb);
  int ones = 1;
  for (int i = 0; i < 256; ++i)
    ones &= yb[i] == 0x3f80;
  printf("rms_bf16 returned %d, all ones: %s\n", rc, ones ? "yes" : "no");
  return 0;
}
