// A self-contained SVG of training curves, no dependencies: one panel per series group
// (losses; accuracies and AUC; learning rate), steps on the x axis. Used by `electra plot`
// and written next to every checkpoint.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

namespace electra::train {

struct Series {
  std::string name;
  std::vector<double> x, y;
};

struct Panel {
  std::string title;
  std::vector<Series> series;
};

namespace detail {
inline std::string fmt(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.3g", v);
  return b;
}
inline std::string escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '<') o += "&lt;";
    else if (c == '>') o += "&gt;";
    else if (c == '&') o += "&amp;";
    else o += c;
  }
  return o;
}
}  // namespace detail

// Panels are stacked vertically, each 880x260 px with axes, ticks and a legend.
inline std::string render_svg(const std::string& title, const std::vector<Panel>& panels) {
  static const char* colors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"};
  const int W = 880, H = 240, left = 70, right = 170, top = 30, bottom = 40;
  std::string s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + std::to_string(W) + "\" height=\"" +
                  std::to_string(H * int(panels.size()) + 40) + "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  s += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  s += "<text x=\"10\" y=\"22\" font-size=\"16\">" + detail::escape(title) + "</text>\n";
  for (std::size_t p = 0; p < panels.size(); ++p) {
    const int y0 = 40 + int(p) * H;
    double xmin = 1e300, xmax = -1e300, ymin = 1e300, ymax = -1e300;
    for (const auto& se : panels[p].series)
      for (std::size_t i = 0; i < se.x.size(); ++i) {
        if (!std::isfinite(se.y[i])) continue;
        xmin = std::min(xmin, se.x[i]), xmax = std::max(xmax, se.x[i]);
        ymin = std::min(ymin, se.y[i]), ymax = std::max(ymax, se.y[i]);
      }
    if (xmin > xmax) xmin = 0, xmax = 1, ymin = 0, ymax = 1;
    if (xmax == xmin) xmax = xmin + 1;
    if (ymax == ymin) ymax = ymin + 1;
    const double pw = W - left - right, ph = H - top - bottom;
    auto X = [&](double x) { return left + (x - xmin) / (xmax - xmin) * pw; };
    auto Y = [&](double y) { return y0 + top + (1 - (y - ymin) / (ymax - ymin)) * ph; };
    s += "<text x=\"" + std::to_string(left) + "\" y=\"" + std::to_string(y0 + 18) + "\" font-weight=\"bold\">" +
         detail::escape(panels[p].title) + "</text>\n";
    s += "<rect x=\"" + std::to_string(left) + "\" y=\"" + std::to_string(y0 + top) + "\" width=\"" + detail::fmt(pw) +
         "\" height=\"" + detail::fmt(ph) + "\" fill=\"none\" stroke=\"#888\"/>\n";
    for (int t = 0; t <= 4; ++t) {
      const double yv = ymin + (ymax - ymin) * t / 4, xv = xmin + (xmax - xmin) * t / 4;
      s += "<text x=\"" + std::to_string(left - 6) + "\" y=\"" + detail::fmt(Y(yv) + 4) + "\" text-anchor=\"end\">" +
           detail::fmt(yv) + "</text>\n";
      s += "<text x=\"" + detail::fmt(X(xv)) + "\" y=\"" + std::to_string(y0 + H - bottom + 16) +
           "\" text-anchor=\"middle\">" + detail::fmt(xv) + "</text>\n";
    }
    s += "<text x=\"" + detail::fmt(left + pw / 2) + "\" y=\"" + std::to_string(y0 + H - 6) +
         "\" text-anchor=\"middle\">step</text>\n";
    for (std::size_t k = 0; k < panels[p].series.size(); ++k) {
      const auto& se = panels[p].series[k];
      const char* c = colors[k % 6];
      std::string pts;
      for (std::size_t i = 0; i < se.x.size(); ++i)
        if (std::isfinite(se.y[i])) pts += detail::fmt(X(se.x[i])) + "," + detail::fmt(Y(se.y[i])) + " ";
      s += "<polyline fill=\"none\" stroke=\"" + std::string(c) + "\" stroke-width=\"1.5\" points=\"" + pts + "\"/>\n";
      const int ly = y0 + top + 14 + int(k) * 18;
      s += "<line x1=\"" + std::to_string(W - right + 10) + "\" y1=\"" + std::to_string(ly - 4) + "\" x2=\"" +
           std::to_string(W - right + 30) + "\" y2=\"" + std::to_string(ly - 4) + "\" stroke=\"" + c +
           "\" stroke-width=\"2\"/>\n";
      s += "<text x=\"" + std::to_string(W - right + 36) + "\" y=\"" + std::to_string(ly) + "\">" +
           detail::escape(se.name) + "</text>\n";
    }
  }
  return s + "</svg>\n";
}

}  // namespace electra::train
