// PLplot drawing of training curves, confusion matrices and forecasts into PNG files (cairo).
// PLplot keeps global state (the current stream, the driver table), so every figure is drawn
// under one process-wide mutex.
#include "plot_render.h"

#include <spdlog/spdlog.h>

#ifdef SSMKIT_WITH_PLOTS
#include <plplot/plstream.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <map>
#include <mutex>

#include "ssmkit/io/atomic_file.h"
#endif

namespace ssmkit::report::render {

#ifndef SSMKIT_WITH_PLOTS

bool available() {
  return false;
}

bool training_curves(const std::string& path, const std::vector<CurvePanel>&, const std::string&,
                     PlotSize) {
  spdlog::warn("plots: ssmkit was built without PLplot; {} is not written", path);
  return false;
}

bool confusion_matrix(const std::string& path, int64_t, const std::vector<int64_t>&,
                      const std::vector<std::string>&, const std::string&, PlotSize,
                      ConfusionPanels) {
  spdlog::warn("plots: ssmkit was built without PLplot; {} is not written", path);
  return false;
}

bool forecasts(const std::string& path, int64_t, int64_t, const std::vector<ForecastPanel>&,
               const std::string&, PlotSize) {
  spdlog::warn("plots: ssmkit was built without PLplot; {} is not written", path);
  return false;
}

bool image_grid(const std::string& path, int64_t, const std::vector<ImagePanel>&,
                const std::string&, PlotSize) {
  spdlog::warn("plots: ssmkit was built without PLplot; {} is not written", path);
  return false;
}

#else

namespace {

// PLplot's cairo PNG driver, antialiased, with system fonts.
constexpr const char* kDevice = "pngcairo";

// Colour map 0: background, text and axes, grid, then one colour per series (matplotlib's
// "tab10", familiar from most training plots).
enum Colour : PLINT { kWhite = 0, kBlack = 1, kGrid = 2, kDarkGray = 3, kFirstSeries = 4 };
constexpr PLINT kPalette[][3] = {{255, 255, 255}, {0, 0, 0},      {225, 225, 225}, {90, 90, 90},
                                 {31, 119, 180},  {255, 127, 14}, {44, 160, 44},   {214, 39, 40},
                                 {148, 103, 189}, {140, 86, 75},  {227, 119, 194}, {127, 127, 127},
                                 {188, 189, 34},  {23, 190, 207}};
constexpr int kPaletteSize = sizeof(kPalette) / sizeof(kPalette[0]);
constexpr int kSeriesColours = kPaletteSize - kFirstSeries;

// Heat map colours (matplotlib's "Blues"): position in [0, 1] and RGB in [0, 1].
constexpr PLFLT kHeatStops[] = {0.0, 0.25, 0.5, 0.75, 1.0};
constexpr PLFLT kHeatRed[] = {247 / 255.0, 198 / 255.0, 107 / 255.0, 33 / 255.0, 8 / 255.0};
constexpr PLFLT kHeatGreen[] = {251 / 255.0, 219 / 255.0, 174 / 255.0, 113 / 255.0, 48 / 255.0};
constexpr PLFLT kHeatBlue[] = {255 / 255.0, 239 / 255.0, 214 / 255.0, 181 / 255.0, 107 / 255.0};
constexpr int kHeatStopCount = sizeof(kHeatStops) / sizeof(kHeatStops[0]);
// Above this colour intensity the cell is dark enough for white numbers.
constexpr double kDarkCellThreshold = 0.55;

// Text sizes relative to PLplot's default character height.
constexpr PLFLT kPageTitleScale = 1.3;
constexpr PLFLT kLegendTextScale = 0.9;
constexpr PLFLT kClassNameScale = 0.75;
// Panel text shrinks with the panel: full size when a panel is at least this many default
// character heights tall and wide, never below kMinPanelTextScale (still readable).
constexpr double kFullTextPanelHeight = 20.0;
constexpr double kFullTextPanelWidth = 30.0;
constexpr double kMinPanelTextScale = 0.5;
// Line widths in the driver's units (points): data lines stand out from the axes.
constexpr PLFLT kDataLineWidth = 2.2;
constexpr PLFLT kAxisLineWidth = 1.0;
// Series with at most this many points also get a marker per point, so a one-epoch run shows.
constexpr size_t kMaxPointsWithMarkers = 40;
// PLplot's Hershey symbol code for a filled circle, and its size relative to the default.
constexpr PLINT kMarkerSymbol = 17;
constexpr PLFLT kMarkerScale = 0.6;
// Data ranges are widened by this fraction so lines do not touch the frame.
constexpr double kRangePadding = 0.05;
// A flat series (one value v) gets the range v -/+ this fraction of |v|, so that a small constant
// such as a learning rate of 5e-4 keeps readable tick labels; around zero, -/+ kFlatZeroHalfRange.
constexpr double kFlatRangeFraction = 0.5;
constexpr double kFlatZeroHalfRange = 0.5;
// Aim for about this many labelled ticks on a wide axis, and at least this many on any.
constexpr double kTargetTicks = 6.0;
constexpr double kMinTicks = 2.0;
// A labelled tick needs about this many character heights along a vertical axis.
constexpr double kCharsPerVerticalTick = 2.5;
// Panels in one row of a training-curves figure.
constexpr size_t kMaxCurvePanelsPerRow = 3;
// Margins around a panel, in character heights: room for tick labels and axis titles.
constexpr double kMarginLeft = 7.5;
constexpr double kMarginRight = 2.0;
constexpr double kMarginBottom = 4.5;
constexpr double kMarginTop = 3.0;
// Height of the page title band, in character heights.
constexpr double kPageTitleBand = 3.5;
// Average glyph width of a sans-serif font relative to the character height.
constexpr double kGlyphWidthRatio = 0.62;
// Cells narrower than this many character heights get no numbers: they would not be readable.
constexpr double kMinCellForNumbers = 1.6;
// Numbers are sized for at least this many characters ("0.00", a count of four digits), so
// small matrices do not get huge digits.
constexpr double kCellNumberChars = 4.5;
// Class names longer than this are cut with an ellipsis so the matrix keeps its room.
constexpr size_t kMaxClassNameChars = 18;
// Matrices with more classes than this get no class names on the axes, only the frame.
constexpr int64_t kMaxNamedClasses = 40;

std::mutex& plplot_mutex() {
  static std::mutex mutex;
  return mutex;
}

// Whether PLplot can load the cairo PNG driver (a separate package, plplot-driver-cairo). Asked
// once: asking PLplot to init an unknown device would prompt on stdin and then exit the process.
bool device_available() {
  static const bool found = [] {
    constexpr int kMaxDevices = 256;
    const char* menus[kMaxDevices] = {};
    const char* names[kMaxDevices] = {};
    const char** menu_list = menus;
    const char** name_list = names;
    int count = kMaxDevices;
    plgFileDevs(&menu_list, &name_list, &count);
    for (int i = 0; i < count; ++i) {
      if (names[i] != nullptr && std::strcmp(names[i], kDevice) == 0) return true;
    }
    return false;
  }();
  return found;
}

// Character height as a fraction of the page, at the current text scale.
struct PageMetrics {
  double char_x;  // one character height as a fraction of the page width
  double char_y;  // ... of the page height
};

PageMetrics page_metrics(plstream& pls) {
  PLFLT xmin, xmax, ymin, ymax;
  pls.gspa(xmin, xmax, ymin, ymax);  // millimetres
  PLFLT default_height, height;
  pls.gchr(default_height, height);  // millimetres
  return PageMetrics{height / (xmax - xmin), height / (ymax - ymin)};
}

// The current character height relative to the default one.
PLFLT current_text_scale(plstream& pls) {
  PLFLT default_height, height;
  pls.gchr(default_height, height);
  return height / default_height;
}

// Sets the character height to `scale` times the default and restores the previous height.
class TextScale {
 public:
  TextScale(plstream& pls, PLFLT scale) : pls_(pls), previous_scale_(current_text_scale(pls)) {
    pls_.schr(0.0, scale);
  }
  ~TextScale() { pls_.schr(0.0, previous_scale_); }
  TextScale(const TextScale&) = delete;
  TextScale& operator=(const TextScale&) = delete;

 private:
  plstream& pls_;
  PLFLT previous_scale_;
};

struct Box {
  double x0, x1, y0, y1;  // normalised device coordinates
};

// Lays `count` cells out in a grid of `columns` below `top`; returns each cell's box.
std::vector<Box> grid_cells(size_t count, size_t columns, double top) {
  const size_t rows = (count + columns - 1) / columns;
  std::vector<Box> cells;
  for (size_t i = 0; i < count; ++i) {
    const double width = 1.0 / static_cast<double>(columns);
    const double height = top / static_cast<double>(rows);
    const double x0 = width * static_cast<double>(i % columns);
    const double y1 = top - height * static_cast<double>(i / columns);
    cells.push_back(Box{x0, x0 + width, y1 - height, y1});
  }
  return cells;
}

Box inset(const Box& cell, const PageMetrics& m, double left, double right, double bottom,
          double top) {
  return Box{cell.x0 + left * m.char_x, cell.x1 - right * m.char_x, cell.y0 + bottom * m.char_y,
             cell.y1 - top * m.char_y};
}

// Text scale for panels of the size of `cell` (measured with default-size metrics `m`).
PLFLT panel_text_scale(const Box& cell, const PageMetrics& m) {
  const double height_chars = (cell.y1 - cell.y0) / m.char_y;
  const double width_chars = (cell.x1 - cell.x0) / m.char_x;
  const double scale =
      std::min({1.0, height_chars / kFullTextPanelHeight, width_chars / kFullTextPanelWidth});
  return std::max(kMinPanelTextScale, scale);
}

// 1, 2 or 5 times a power of ten, giving about `ticks` ticks over `range`; at least 1 when the
// axis counts whole things (epochs, time steps).
double nice_step(double range, bool whole_numbers, double ticks = kTargetTicks) {
  if (!(range > 0.0)) return whole_numbers ? 1.0 : 0.0;
  const double raw = range / ticks;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  double step = magnitude;
  for (double factor : {1.0, 2.0, 5.0, 10.0}) {
    step = factor * magnitude;
    if (step >= raw) break;
  }
  return whole_numbers ? std::max(1.0, std::round(step)) : step;
}

// Tick count that fits a vertical axis `box` tall without labels running into each other.
double vertical_ticks(const Box& box, const PageMetrics& m) {
  const double height_chars = (box.y1 - box.y0) / m.char_y;
  return std::clamp(height_chars / kCharsPerVerticalTick, kMinTicks, kTargetTicks);
}

struct Range {
  double low = std::numeric_limits<double>::infinity();
  double high = -std::numeric_limits<double>::infinity();
  void add(double value) {
    if (!std::isfinite(value)) return;
    low = std::min(low, value);
    high = std::max(high, value);
  }
  bool empty() const { return low > high; }
  // Widened by kRangePadding on each side; a single value by a fraction of its magnitude.
  Range padded() const {
    if (empty()) return Range{0.0, 1.0};
    const double span = high - low;
    if (span <= 0.0) {
      const double half = low != 0.0 ? std::abs(low) * kFlatRangeFraction : kFlatZeroHalfRange;
      return Range{low - half, high + half};
    }
    return Range{low - span * kRangePadding, high + span * kRangePadding};
  }
};

bool all_whole(const std::vector<double>& values) {
  for (double v : values) {
    if (std::isfinite(v) && v != std::floor(v)) return false;
  }
  return true;
}

// Draws a polyline through the finite points, breaking it at non-finite ones.
void draw_finite_line(plstream& pls, const std::vector<double>& x, const std::vector<double>& y,
                      bool markers) {
  std::vector<PLFLT> run_x;
  std::vector<PLFLT> run_y;
  const auto flush = [&] {
    if (run_x.size() >= 2) pls.line(static_cast<PLINT>(run_x.size()), run_x.data(), run_y.data());
    if (markers && !run_x.empty()) {
      pls.ssym(0.0, kMarkerScale);
      pls.poin(static_cast<PLINT>(run_x.size()), run_x.data(), run_y.data(), kMarkerSymbol);
    }
    run_x.clear();
    run_y.clear();
  };
  for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
    if (std::isfinite(x[i]) && std::isfinite(y[i])) {
      run_x.push_back(x[i]);
      run_y.push_back(y[i]);
    } else {
      flush();
    }
  }
  flush();
}

struct LegendEntry {
  std::string text;
  PLINT colour;
};

// Length of a legend's line sample, as a fraction of the viewport width.
constexpr PLFLT kPanelLegendSample = 0.07;
constexpr PLFLT kPageLegendSample = 0.03;

// A legend placed at `position` (PL_POSITION_* flags) of the current viewport, in `columns`
// columns (0: one column).
void draw_legend(plstream& pls, const std::vector<LegendEntry>& entries, PLINT position,
                 PLINT columns = 0, PLFLT sample_width = kPanelLegendSample) {
  if (entries.empty()) return;
  const auto n = entries.size();
  std::vector<PLINT> options(n, PL_LEGEND_LINE);
  std::vector<PLINT> text_colours(n, kBlack);
  std::vector<const char*> texts;
  std::vector<PLINT> line_colours;
  std::vector<PLINT> line_styles(n, 1);
  std::vector<PLFLT> line_widths(n, kDataLineWidth);
  for (const auto& entry : entries) {
    texts.push_back(entry.text.c_str());
    line_colours.push_back(entry.colour);
  }
  // Offset from the viewport edge in fractions of it; text offsets in characters.
  constexpr PLFLT kOffset = 0.02;
  constexpr PLFLT kTextOffset = 0.6;
  constexpr PLFLT kTextSpacing = 1.8;
  constexpr PLFLT kTextJustification = 0.0;
  const PLINT rows = columns > 0 ? 1 : 0;
  // pllegend scales text from the default height; follow the panel's current text size.
  const PLFLT text_scale = kLegendTextScale * current_text_scale(pls);
  PLFLT legend_width, legend_height;
  pls.legend(&legend_width, &legend_height, PL_LEGEND_BACKGROUND | PL_LEGEND_BOUNDING_BOX,
             position | PL_POSITION_INSIDE | PL_POSITION_VIEWPORT, kOffset, kOffset, sample_width,
             kWhite, kDarkGray, 1, rows, columns, static_cast<PLINT>(n), options.data(),
             kTextOffset, text_scale, kTextSpacing, kTextJustification, text_colours.data(),
             texts.data(), nullptr, nullptr, nullptr, nullptr, line_colours.data(),
             line_styles.data(), line_widths.data(), nullptr, nullptr, nullptr, nullptr);
}

// Top or bottom right, whichever holds fewer data points: the legend hides the least there.
PLINT quiet_corner(const std::vector<std::pair<double, double> >& points, const Range& x,
                   const Range& y) {
  size_t top = 0;
  size_t bottom = 0;
  const double x_mid = x.low + 0.5 * (x.high - x.low);
  const double y_mid = y.low + 0.5 * (y.high - y.low);
  for (const auto& [px, py] : points) {
    if (px < x_mid) continue;
    (py >= y_mid ? top : bottom) += 1;
  }
  return PL_POSITION_RIGHT | (top <= bottom ? PL_POSITION_TOP : PL_POSITION_BOTTOM);
}

// Grid lines, frame, ticks and numeric labels (logarithmic y labels when `log_y`).
void draw_frame(plstream& pls, double x_step, double y_step, bool log_y) {
  pls.width(kAxisLineWidth);
  pls.col0(kGrid);
  pls.box("g", x_step, 0, log_y ? "gl" : "g", y_step, 0);
  pls.col0(kBlack);
  pls.box("bcnst", x_step, 0, log_y ? "bcnstvl" : "bcnstv", y_step, 0);
}

// The figure's title band at the top of the page; returns the top of the area left for panels.
double draw_page_title(plstream& pls, const std::string& title, const PageMetrics& m) {
  if (title.empty()) return 1.0;
  pls.vpor(0.0, 1.0, 0.0, 1.0);
  pls.wind(0.0, 1.0, 0.0, 1.0);
  TextScale scale(pls, kPageTitleScale);
  pls.col0(kBlack);
  constexpr PLFLT kTitleDisplacement = -1.6;  // inside the page top, in character heights
  pls.mtex("t", kTitleDisplacement, 0.5, 0.5, title.c_str());
  return 1.0 - kPageTitleBand * m.char_y;
}

// One colour per series name across all panels, so "val" is the same colour everywhere.
using SeriesColours = std::map<std::string, PLINT>;

SeriesColours series_colours(const std::vector<CurvePanel>& panels) {
  SeriesColours colours;
  for (const auto& panel : panels) {
    for (const auto& series : panel.series) {
      if (colours.count(series.name) == 0) {
        const auto next = static_cast<PLINT>(kFirstSeries + colours.size() % kSeriesColours);
        colours.emplace(series.name, next);
      }
    }
  }
  return colours;
}

void draw_curve_panel(plstream& pls, const CurvePanel& panel, const Box& box, const PageMetrics& m,
                      const SeriesColours& colours) {
  Range x_range;
  Range y_range;
  bool whole_x = true;
  std::vector<std::vector<double> > ys;  // log10 when log_y
  std::vector<std::pair<double, double> > points;
  for (const auto& series : panel.series) {
    whole_x = whole_x && all_whole(series.x);
    std::vector<double> y = series.y;
    if (panel.log_y) {
      for (auto& v : y)
        v = v > 0.0 ? std::log10(v) : std::numeric_limits<double>::quiet_NaN();
    }
    for (size_t i = 0; i < series.x.size(); ++i) {
      if (std::isfinite(series.x[i]) && std::isfinite(y[i])) {
        x_range.add(series.x[i]);
        y_range.add(y[i]);
        points.emplace_back(series.x[i], y[i]);
      }
    }
    ys.push_back(std::move(y));
  }
  const Range x = x_range.padded();
  const Range y = y_range.padded();
  pls.vpor(box.x0, box.x1, box.y0, box.y1);
  pls.wind(x.low, x.high, y.low, y.high);
  // Logarithmic axes label every decade (step 0 lets PLplot choose).
  const double y_step =
      panel.log_y ? 0.0 : nice_step(y.high - y.low, false, vertical_ticks(box, m));
  draw_frame(pls, nice_step(x.high - x.low, whole_x), y_step, panel.log_y);
  pls.lab(panel.x_label.c_str(), panel.y_label.c_str(), panel.title.c_str());
  if (points.empty()) {
    pls.ptex(0.5 * (x.low + x.high), 0.5 * (y.low + y.high), 1.0, 0.0, 0.5, "no data");
    return;
  }
  std::vector<LegendEntry> legend;
  for (size_t s = 0; s < panel.series.size(); ++s) {
    const auto colour = colours.at(panel.series[s].name);
    pls.col0(colour);
    pls.width(kDataLineWidth);
    draw_finite_line(pls, panel.series[s].x, ys[s],
                     panel.series[s].x.size() <= kMaxPointsWithMarkers);
    legend.push_back(LegendEntry{panel.series[s].name, colour});
  }
  pls.width(kAxisLineWidth);
  draw_legend(pls, legend, quiet_corner(points, x, y));
}

// Opens a PNG stream on a temporary file, lets `draw` fill it, then moves it into place.
template <typename Draw>
bool render_png(const std::string& path, PlotSize size, Draw&& draw) {
  std::lock_guard<std::mutex> lock(plplot_mutex());
  if (!device_available()) {
    spdlog::warn(
        "plots: PLplot's '{}' driver is not installed (Debian: plplot-driver-cairo); "
        "{} is not written",
        kDevice, path);
    return false;
  }
  AtomicFileWriter out(path);
  out.release_handle();
  {
    plstream pls;
    pls.sdev(kDevice);
    pls.sfnam(out.temp_path().c_str());
    pls.spage(0, 0, size.width, size.height, 0, 0);
    PLINT red[kPaletteSize], green[kPaletteSize], blue[kPaletteSize];
    for (int i = 0; i < kPaletteSize; ++i) {
      red[i] = kPalette[i][0];
      green[i] = kPalette[i][1];
      blue[i] = kPalette[i][2];
    }
    pls.scmap0(red, green, blue, kPaletteSize);
    pls.scolbg(kPalette[kWhite][0], kPalette[kWhite][1], kPalette[kWhite][2]);
    pls.scmap1l(true, kHeatStopCount, kHeatStops, kHeatRed, kHeatGreen, kHeatBlue, nullptr);
    pls.init();
    pls.adv(0);
    pls.col0(kBlack);
    draw(pls);
  }  // the stream ends here, which writes the PNG
  out.commit();
  return true;
}

std::string shortened(const std::string& name) {
  if (name.size() <= kMaxClassNameChars) return name;
  return name.substr(0, kMaxClassNameChars - 3) + "...";
}

void fill_cell(plstream& pls, double x0, double y0, double x1, double y1) {
  const PLFLT xs[] = {x0, x1, x1, x0};
  const PLFLT ys[] = {y0, y0, y1, y1};
  pls.fill(4, xs, ys);
}

// One heat map: `values` (K * K) in [0, 1] colour the cells, `labels` are printed in them.
void draw_heatmap(plstream& pls, const Box& area, int64_t k, const std::vector<double>& values,
                  const std::vector<std::string>& labels, const std::vector<std::string>& names,
                  const std::string& title, const PageMetrics& m) {
  size_t longest = 0;
  const bool named = k <= kMaxNamedClasses;
  if (named) {
    for (const auto& name : names)
      longest = std::max(longest, shortened(name).size());
  }
  // Room for the names and for the axis title beyond them, in character heights. Names shrink
  // (relative to the panel text) until one fits the height of a cell; two passes settle it.
  constexpr double kNameGap = 0.5;
  constexpr double kAxisTitleRoom = 2.5;
  constexpr double kNameCellFill = 0.8;
  const auto kd = static_cast<double>(k);
  double name_scale = kClassNameScale;
  double name_room = 0.0;
  Box room{};
  for (int pass = 0; pass < 2; ++pass) {
    name_room = static_cast<double>(longest) * kGlyphWidthRatio * name_scale + 2.0 * kNameGap;
    room = inset(area, m, name_room + kAxisTitleRoom, kMarginRight, name_room + kAxisTitleRoom,
                 kMarginTop);
    const double side_chars =
        std::min((room.x1 - room.x0) / m.char_x, (room.y1 - room.y0) / m.char_y);
    name_scale = std::min(kClassNameScale, kNameCellFill * side_chars / kd);
  }
  pls.vpas(room.x0, room.x1, room.y0, room.y1, 1.0);
  pls.wind(0.0, kd, 0.0, kd);
  // Rows are drawn top to bottom: true class 0 at the top, as in sklearn's display.
  for (int64_t i = 0; i < k; ++i) {
    for (int64_t j = 0; j < k; ++j) {
      pls.col1(values[static_cast<size_t>(i * k + j)]);
      fill_cell(pls, static_cast<double>(j), kd - 1.0 - static_cast<double>(i),
                static_cast<double>(j + 1), kd - static_cast<double>(i));
    }
  }
  PLFLT vx0, vx1, vy0, vy1;
  pls.gvpd(vx0, vx1, vy0, vy1);
  const double cell_chars = (vx1 - vx0) / m.char_x / kd;  // cell width in character heights
  if (cell_chars >= kMinCellForNumbers) {
    // Numbers fill at most most of the cell width, and never exceed the panel text size.
    constexpr double kCellFill = 0.8;
    constexpr double kNumberPadding = 0.5;  // characters of air around the widest number
    size_t widest = 0;
    for (const auto& label : labels)
      widest = std::max(widest, label.size());
    const double number_chars =
        std::max(kCellNumberChars, static_cast<double>(widest) + kNumberPadding);
    const double fit = cell_chars * kCellFill / (number_chars * kGlyphWidthRatio);
    TextScale scale(pls, std::min(1.0, fit) * current_text_scale(pls));
    // ptex puts the baseline at y; shifting it down by about a third of the digit height centres
    // the digits in the cell.
    constexpr double kBaselineShift = 0.12;
    for (int64_t i = 0; i < k; ++i) {
      for (int64_t j = 0; j < k; ++j) {
        const auto cell = static_cast<size_t>(i * k + j);
        pls.col0(values[cell] > kDarkCellThreshold ? kWhite : kBlack);
        const double y = kd - 0.5 - static_cast<double>(i) - kBaselineShift;
        pls.ptex(static_cast<double>(j) + 0.5, y, 1.0, 0.0, 0.5, labels[cell].c_str());
      }
    }
  }
  pls.col0(kBlack);
  pls.width(kAxisLineWidth);
  pls.box("bc", 0, 0, "bc", 0, 0);
  if (named) {
    TextScale scale(pls, name_scale * current_text_scale(pls));
    const double gap = kNameGap / name_scale;  // mtex measures in the current height
    for (int64_t c = 0; c < k; ++c) {
      const double position = (static_cast<double>(c) + 0.5) / kd;
      const auto name = shortened(names[static_cast<size_t>(c)]);
      pls.mtex("bv", gap, position, 1.0, name.c_str());
      pls.mtex("lv", gap, 1.0 - position, 1.0, name.c_str());
    }
  }
  // Axis titles sit beyond the names (the bottom one is measured from its baseline, hence the
  // extra line), the panel title one line above the frame; all centred.
  constexpr double kBottomTitleOffset = 1.5;
  constexpr double kLeftTitleOffset = 1.0;
  constexpr double kPanelTitleOffset = 1.0;
  constexpr double kCentred = 0.5;
  pls.mtex("b", name_room + kBottomTitleOffset, kCentred, kCentred, "predicted class");
  pls.mtex("l", name_room + kLeftTitleOffset, kCentred, kCentred, "true class");
  pls.mtex("t", kPanelTitleOffset, kCentred, kCentred, title.c_str());
}

}  // namespace

bool available() {
  std::lock_guard<std::mutex> lock(plplot_mutex());
  return device_available();
}

bool training_curves(const std::string& path, const std::vector<CurvePanel>& panels,
                     const std::string& title, PlotSize size) {
  return render_png(path, size, [&](plstream& pls) {
    const double top = draw_page_title(pls, title, page_metrics(pls));
    const size_t columns = std::min(panels.size(), kMaxCurvePanelsPerRow);
    const auto cells = grid_cells(panels.size(), columns, top);
    TextScale scale(pls, panel_text_scale(cells[0], page_metrics(pls)));
    const auto m = page_metrics(pls);
    const auto colours = series_colours(panels);
    for (size_t p = 0; p < panels.size(); ++p) {
      const Box box = inset(cells[p], m, kMarginLeft, kMarginRight, kMarginBottom, kMarginTop);
      draw_curve_panel(pls, panels[p], box, m, colours);
    }
  });
}

bool confusion_matrix(const std::string& path, int64_t num_classes,
                      const std::vector<int64_t>& counts, const std::vector<std::string>& names,
                      const std::string& title, PlotSize size, ConfusionPanels panels) {
  const auto k = static_cast<size_t>(num_classes);
  int64_t largest = 0;
  for (int64_t c : counts)
    largest = std::max(largest, c);
  std::vector<double> count_colour(k * k);
  std::vector<std::string> count_text(k * k);
  std::vector<double> fraction(k * k);
  std::vector<std::string> fraction_text(k * k);
  for (size_t i = 0; i < k; ++i) {
    int64_t row_total = 0;
    for (size_t j = 0; j < k; ++j)
      row_total += counts[i * k + j];
    for (size_t j = 0; j < k; ++j) {
      const auto cell = i * k + j;
      count_colour[cell] =
          largest > 0 ? static_cast<double>(counts[cell]) / static_cast<double>(largest) : 0.0;
      count_text[cell] = std::to_string(counts[cell]);
      fraction[cell] =
          row_total > 0 ? static_cast<double>(counts[cell]) / static_cast<double>(row_total) : 0.0;
      char buffer[16];
      std::snprintf(buffer, sizeof(buffer), "%.2f", fraction[cell]);
      fraction_text[cell] = buffer;
    }
  }
  return render_png(path, size, [&](plstream& pls) {
    const double top = draw_page_title(pls, title, page_metrics(pls));
    const bool both = panels == ConfusionPanels::kBoth;
    const auto cells = grid_cells(both ? 2 : 1, both ? 2 : 1, top);
    TextScale scale(pls, panel_text_scale(cells[0], page_metrics(pls)));
    const auto m = page_metrics(pls);
    size_t cell = 0;
    if (panels != ConfusionPanels::kFractions) {
      draw_heatmap(pls, cells[cell++], num_classes, count_colour, count_text, names, "counts", m);
    }
    if (panels != ConfusionPanels::kCounts) {
      draw_heatmap(pls, cells[cell], num_classes, fraction, fraction_text, names,
                   "fraction of each true class", m);
    }
  });
}

bool forecasts(const std::string& path, int64_t rows, int64_t columns,
               const std::vector<ForecastPanel>& panels, const std::string& title, PlotSize size) {
  const PLINT kHistoryColour = kDarkGray;
  const PLINT kTruthColour = kFirstSeries;           // blue
  const PLINT kPredictionColour = kFirstSeries + 1;  // orange
  constexpr PLINT kDashed = 2;
  return render_png(path, size, [&](plstream& pls) {
    const auto page = page_metrics(pls);
    const double top = draw_page_title(pls, title, page);
    // One legend for the figure, in a band of its own under the title, so it hides no data.
    constexpr double kLegendBandChars = 2.5;
    const double legend_bottom = top - kLegendBandChars * page.char_y;
    const auto cells = grid_cells(static_cast<size_t>(rows * columns), static_cast<size_t>(columns),
                                  legend_bottom);
    TextScale scale(pls, panel_text_scale(cells[0], page));
    pls.vpor(0.0, 1.0, legend_bottom, top);
    pls.wind(0.0, 1.0, 0.0, 1.0);
    draw_legend(
        pls,
        {{"history", kHistoryColour}, {"truth", kTruthColour}, {"prediction", kPredictionColour}},
        PL_POSITION_TOP, 3, kPageLegendSample);
    const auto m = page_metrics(pls);
    for (size_t p = 0; p < panels.size() && p < cells.size(); ++p) {
      const auto& panel = panels[p];
      const bool bottom_row = p / static_cast<size_t>(columns) == static_cast<size_t>(rows - 1);
      const bool left_column = p % static_cast<size_t>(columns) == 0;
      const auto history_length = static_cast<double>(panel.history.size());
      std::vector<double> history_x(panel.history.size());
      for (size_t t = 0; t < history_x.size(); ++t) {
        history_x[t] = static_cast<double>(t) - history_length;
      }
      // The truth continues the history, so it starts at the last observed point.
      std::vector<double> truth_x;
      std::vector<double> truth_y;
      if (!panel.history.empty()) {
        truth_x.push_back(-1.0);
        truth_y.push_back(panel.history.back());
      }
      std::vector<double> future_x(panel.truth.size());
      for (size_t t = 0; t < future_x.size(); ++t) {
        future_x[t] = static_cast<double>(t);
        truth_x.push_back(future_x[t]);
        truth_y.push_back(panel.truth[t]);
      }
      Range x_range;
      Range y_range;
      for (double v : history_x)
        x_range.add(v);
      for (double v : future_x)
        x_range.add(v);
      for (const auto* values : {&panel.history, &panel.truth, &panel.prediction}) {
        for (double v : *values)
          y_range.add(v);
      }
      const Range x = x_range.padded();
      const Range y = y_range.padded();
      // Axis titles only on the outer panels; the inner ones share them.
      constexpr double kInnerMarginBottom = 3.0;
      constexpr double kInnerMarginLeft = 5.5;
      const Box box = inset(cells[p], m, left_column ? kMarginLeft : kInnerMarginLeft, kMarginRight,
                            bottom_row ? kMarginBottom : kInnerMarginBottom, kMarginTop);
      pls.vpor(box.x0, box.x1, box.y0, box.y1);
      pls.wind(x.low, x.high, y.low, y.high);
      draw_frame(pls, nice_step(x.high - x.low, true),
                 nice_step(y.high - y.low, false, vertical_ticks(box, m)), false);
      pls.lab(bottom_row ? "time step" : "", left_column ? "value" : "", panel.title.c_str());
      // The forecast starts between the last observed step and the first predicted one.
      pls.col0(kDarkGray);
      pls.lsty(kDashed);
      pls.join(-0.5, y.low, -0.5, y.high);
      pls.lsty(1);
      pls.width(kDataLineWidth);
      pls.col0(kHistoryColour);
      draw_finite_line(pls, history_x, panel.history, false);
      pls.col0(kTruthColour);
      draw_finite_line(pls, truth_x, truth_y, false);
      pls.col0(kPredictionColour);
      draw_finite_line(pls, future_x, panel.prediction, false);
      pls.width(kAxisLineWidth);
    }
  });
}

bool image_grid(const std::string& path, int64_t columns, const std::vector<ImagePanel>& panels,
                const std::string& title, PlotSize size) {
  // Palette entry borrowed for each pixel's colour (restored at the end), and the mark colour.
  const PLINT kPixel = kGrid;
  const PLINT kMark = kFirstSeries + 3;  // red
  constexpr double kTitleLines = 2.6;    // room above each image, in character heights
  constexpr PLFLT kMarkWidth = 4.0;
  return render_png(path, size, [&](plstream& pls) {
    const auto page = page_metrics(pls);
    const double top = draw_page_title(pls, title, page);
    const auto cells = grid_cells(panels.size(), static_cast<size_t>(columns), top);
    TextScale scale(pls, panel_text_scale(cells[0], page));
    const auto m = page_metrics(pls);
    for (size_t p = 0; p < panels.size(); ++p) {
      const ImagePanel& panel = panels[p];
      const Box cell = inset(cells[p], m, 0.5, 0.5, 0.5, kTitleLines);
      // The largest square-pixel image that fits the cell, centred.
      const double pixel = std::min(
          (cell.x1 - cell.x0) / static_cast<double>(panel.width) * static_cast<double>(size.width),
          (cell.y1 - cell.y0) / static_cast<double>(panel.height) *
              static_cast<double>(size.height));
      const double w = pixel * static_cast<double>(panel.width) / size.width;
      const double h = pixel * static_cast<double>(panel.height) / size.height;
      const double x0 = (cell.x0 + cell.x1 - w) / 2, y1 = cell.y1;
      pls.vpor(x0, x0 + w, y1 - h, y1);
      pls.wind(0.0, static_cast<double>(panel.width), 0.0, static_cast<double>(panel.height));
      for (int64_t r = 0; r < panel.height; ++r) {
        for (int64_t c = 0; c < panel.width; ++c) {
          const size_t at = static_cast<size_t>((r * panel.width + c) * 3);
          pls.scol0(kPixel, panel.rgb[at], panel.rgb[at + 1], panel.rgb[at + 2]);
          pls.col0(kPixel);
          const double row = static_cast<double>(panel.height - 1 - r);
          fill_cell(pls, static_cast<double>(c), row, static_cast<double>(c + 1), row + 1.0);
        }
      }
      pls.col0(panel.marked ? kMark : kBlack);
      if (panel.marked) {
        pls.width(kMarkWidth);
        pls.box("bc", 0.0, 0, "bc", 0.0, 0);
        pls.width(kAxisLineWidth);
      }
      const auto newline = panel.title.find('\n');
      pls.mtex("t", 1.8, 0.5, 0.5, panel.title.substr(0, newline).c_str());
      if (newline != std::string::npos) {
        pls.mtex("t", 0.6, 0.5, 0.5, panel.title.substr(newline + 1).c_str());
      }
    }
    pls.scol0(kPixel, kPalette[kPixel][0], kPalette[kPixel][1], kPalette[kPixel][2]);
  });
}

#endif  // SSMKIT_WITH_PLOTS

}  // namespace ssmkit::report::render
