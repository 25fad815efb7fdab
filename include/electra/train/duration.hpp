// A duration for progress lines: "4m05s", or "1h12m" from an hour on.
#pragma once
#include <cstdio>
#include <string>

namespace electra::train {

inline std::string duration_text(double secs) {
  char b[32];
  const long s = long(secs);
  if (s >= 3600)
    std::snprintf(b, sizeof b, "%ldh%02ldm", s / 3600, (s % 3600) / 60);
  else
    std::snprintf(b, sizeof b, "%ldm%02lds", s / 60, s % 60);
  return b;
}

}  // namespace electra::train
