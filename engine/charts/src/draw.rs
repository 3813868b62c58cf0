//! Draws [`ChartData`] with plotters on a bitmap (for PNG) or an SVG document: title on top,
//! legend on the right, time ticks on round clock times, light grid, one colour per series.
//! Layout and styling live here; data reading and time arithmetic do not.

use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::data::ChartData;
use crate::time::{time_axis, TimeAxis};
use crate::{Error, LineChartSpec, Result};

/// DejaVu Sans (see assets/fonts/DejaVu-LICENSE.txt), registered as plotters' `sans-serif`.
static FONT: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans.ttf");
const FAMILY: &str = "sans-serif";

/// Series colours (Tableau 10): distinct for most forms of colour blindness, calm on white.
pub(crate) const PALETTE: [RGBColor; 10] = [
    RGBColor(0x4e, 0x79, 0xa7),
    RGBColor(0xf2, 0x8e, 0x2b),
    RGBColor(0xe1, 0x57, 0x59),
    RGBColor(0x76, 0xb7, 0xb2),
    RGBColor(0x59, 0xa1, 0x4f),
    RGBColor(0xed, 0xc9, 0x48),
    RGBColor(0xb0, 0x7a, 0xa1),
    RGBColor(0xff, 0x9d, 0xa7),
    RGBColor(0x9c, 0x75, 0x5f),
    RGBColor(0xba, 0xb0, 0xac),
];
const TEXT: RGBColor = RGBColor(0x22, 0x22, 0x22);
const MUTED: RGBColor = RGBColor(0x55, 0x55, 0x55);
const AXIS: RGBColor = RGBColor(0x99, 0x99, 0x99);
const GRID: RGBColor = RGBColor(0xe6, 0xe6, 0xe6);

/// Above this many points in a series, markers are left out and only the line is drawn.
const MAX_MARKED_POINTS: usize = 80;

/// Registers the embedded font with plotters once per process.
fn ensure_font() -> Result<()> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED
        .get_or_init(|| plotters::style::register_font(FAMILY, FontStyle::Normal, FONT).is_ok());
    if ok {
        Ok(())
    } else {
        Err(Error::Font)
    }
}

fn draw_err(err: impl std::fmt::Display) -> Error {
    Error::Draw(err.to_string())
}

/// Draws on an RGB bitmap and returns its pixels (3 bytes each, row by row).
pub fn bitmap(data: &ChartData, spec: &LineChartSpec, width: u32, height: u32) -> Result<Vec<u8>> {
    ensure_font()?;
    let mut pixels = vec![0u8; width as usize * height as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, (width, height)).into_drawing_area();
        draw_chart(&root, data, spec)?;
        root.present().map_err(draw_err)?;
    }
    Ok(pixels)
}

/// Draws into an SVG document.
pub fn svg(data: &ChartData, spec: &LineChartSpec, width: u32, height: u32) -> Result<String> {
    ensure_font()?;
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (width, height)).into_drawing_area();
        draw_chart(&root, data, spec)?;
        root.present().map_err(draw_err)?;
    }
    Ok(out)
}

fn draw_chart<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    data: &ChartData,
    spec: &LineChartSpec,
) -> Result<()> {
    let (width, height) = root.dim_in_pixel();
    let small = width < 480 || height < 300;
    let title_size = if small { 15 } else { 20 };
    let label_size = if small { 11 } else { 13 };

    root.fill(&WHITE).map_err(draw_err)?;
    let title_style = TextStyle::from((FAMILY, title_size).into_font()).color(&TEXT);
    let body = root
        .margin(8, 0, 0, 0)
        .titled(&spec.title, title_style)
        .map_err(draw_err)?;

    let legend_style = TextStyle::from((FAMILY, label_size).into_font()).color(&TEXT);
    let legend_width = legend_width(&body, data, &legend_style)?;
    let (plot, legend) = body.split_horizontally(width.saturating_sub(legend_width));

    let (Some((x_min, x_max)), Some((y_min, y_max))) = (data.x_extent, data.y_extent) else {
        let (w, h) = plot.dim_in_pixel();
        let style = legend_style
            .color(&MUTED)
            .pos(Pos::new(HPos::Center, VPos::Center));
        plot.draw_text("No rows to chart", &style, (w as i32 / 2, h as i32 / 2))
            .map_err(draw_err)?;
        return draw_legend(&legend, data, &legend_style);
    };

    // Horizontal range: the data plus a little room so edge markers are not clipped.
    let pad = if x_max > x_min {
        ((x_max - x_min) / 30).max(1)
    } else {
        15 * 60_000
    };
    let (x0, x1) = (x_min - pad, x_max + pad);
    let max_ticks = (plot.dim_in_pixel().0 / 90).max(2) as usize;
    let axis = time_axis(x0, x1, max_ticks);
    let ticks: Vec<i64> = axis.ticks.iter().map(|(t, _)| *t).collect();

    let (y0, y1) = y_range(y_min, y_max);
    let decimals = decimals_for((y1 - y0) / 6.0);
    let y_labels_width = [y0, y1]
        .iter()
        .map(|v| plot.estimate_text_size(&format_value(*v, decimals), &legend_style))
        .try_fold(0u32, |acc, size| size.map(|(w, _)| acc.max(w)))
        .map_err(draw_err)?;

    let mut chart = ChartBuilder::on(&plot)
        .margin_top(10)
        .margin_left(8)
        .margin_right(20)
        .margin_bottom(6)
        .x_label_area_size(label_size * 4)
        .y_label_area_size(y_labels_width + label_size * 2 + 16)
        .build_cartesian_2d((x0..x1).with_key_points(ticks), y0..y1)
        .map_err(draw_err)?;

    let x_desc = match &axis.single_date {
        Some(date) => format!("{} ({date})", spec.x),
        None => spec.x.clone(),
    };
    let x_format = |t: &i64| axis_label(&axis, *t);
    let y_format = |v: &f64| format_value(*v, decimals);
    chart
        .configure_mesh()
        .bold_line_style(GRID)
        .max_light_lines(0)
        .axis_style(AXIS)
        .label_style(TextStyle::from((FAMILY, label_size).into_font()).color(&MUTED))
        .axis_desc_style(TextStyle::from((FAMILY, label_size + 1).into_font()).color(&TEXT))
        .x_desc(x_desc)
        .y_desc(spec.y.clone())
        .y_labels(6)
        .x_label_formatter(&x_format)
        .y_label_formatter(&y_format)
        .draw()
        .map_err(draw_err)?;

    for (i, series) in data.series.iter().enumerate() {
        let colour = PALETTE[i % PALETTE.len()];
        chart
            .draw_series(LineSeries::new(
                series.points.iter().copied(),
                colour.stroke_width(2),
            ))
            .map_err(draw_err)?;
        if series.points.len() <= MAX_MARKED_POINTS {
            chart
                .draw_series(
                    series
                        .points
                        .iter()
                        .map(|&p| Circle::new(p, 3, colour.filled())),
                )
                .map_err(draw_err)?;
        }
    }
    draw_legend(&legend, data, &legend_style)
}

fn axis_label(axis: &TimeAxis, millis: i64) -> String {
    axis.label(millis)
}

/// Width of the legend column: the longest series name, a colour swatch and padding; at most
/// a third of the picture.
fn legend_width<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    data: &ChartData,
    style: &TextStyle,
) -> Result<u32> {
    if data.series.is_empty() {
        return Ok(0);
    }
    let mut widest = 0;
    for series in &data.series {
        let (w, _) = area
            .estimate_text_size(&series.name, style)
            .map_err(draw_err)?;
        widest = widest.max(w);
    }
    Ok((widest + 52).min(area.dim_in_pixel().0 / 3))
}

/// One row per series: a short line with a marker in the series colour, then its name.
fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    data: &ChartData,
    style: &TextStyle,
) -> Result<()> {
    let (_, height) = area.dim_in_pixel();
    let row_height = (style.font.get_size() * 1.8) as i32;
    let top = 14;
    let fits = ((height as i32 - top) / row_height.max(1)).max(1) as usize;
    let text_style = style.pos(Pos::new(HPos::Left, VPos::Center));
    for (i, series) in data.series.iter().enumerate() {
        let y = top + row_height * i as i32 + row_height / 2;
        if i + 1 == fits && data.series.len() > fits {
            let more = format!("+{} more", data.series.len() - i);
            area.draw_text(&more, &text_style.color(&MUTED), (8, y))
                .map_err(draw_err)?;
            break;
        }
        let colour = PALETTE[i % PALETTE.len()];
        area.draw(&PathElement::new(
            vec![(6, y), (28, y)],
            colour.stroke_width(2),
        ))
        .map_err(draw_err)?;
        area.draw(&Circle::new((17, y), 3, colour.filled()))
            .map_err(draw_err)?;
        area.draw_text(&series.name, &text_style, (36, y))
            .map_err(draw_err)?;
    }
    Ok(())
}

/// The vertical range: from zero when every value is non-negative (rates, counts), with a
/// little headroom above the largest value.
fn y_range(min: f64, max: f64) -> (f64, f64) {
    let low = if min >= 0.0 { 0.0 } else { min };
    let span = max - low;
    let pad = if span > 0.0 {
        span * 0.08
    } else {
        max.abs().max(1.0) * 0.1
    };
    let low = if min >= 0.0 { 0.0 } else { low - pad };
    let high = max + pad;
    if high > low {
        (low, high)
    } else {
        (low, low + 1.0)
    }
}

/// Decimals enough to tell ticks `step` apart (0 to 6).
fn decimals_for(step: f64) -> usize {
    if step <= 0.0 || !step.is_finite() {
        return 2;
    }
    (-step.log10().floor()).clamp(0.0, 6.0) as usize
}

/// `1234567` as `1,234,567`; fractions with `decimals` digits.
fn format_value(value: f64, decimals: usize) -> String {
    let text = format!("{value:.decimals$}");
    let (sign, digits) = match text.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", text.as_str()),
    };
    let (int, frac) = match digits.split_once('.') {
        Some((int, frac)) => (int, Some(frac)),
        None => (digits, None),
    };
    let mut grouped = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let sign = if grouped.chars().all(|c| c == '0' || c == ',')
        && frac.is_none_or(|f| f.chars().all(|c| c == '0'))
    {
        ""
    } else {
        sign
    };
    match frac {
        Some(frac) => format!("{sign}{grouped}.{frac}"),
        None => format!("{sign}{grouped}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_grouped_and_rounded() {
        assert_eq!(format_value(1_234_567.0, 0), "1,234,567");
        assert_eq!(format_value(123.0, 0), "123");
        assert_eq!(format_value(0.25, 2), "0.25");
        assert_eq!(format_value(-1234.5, 1), "-1,234.5");
        assert_eq!(format_value(-0.0001, 2), "0.00");
    }

    #[test]
    fn decimals_follow_the_tick_step() {
        assert_eq!(decimals_for(0.17), 1);
        assert_eq!(decimals_for(20_000.0), 0);
        assert_eq!(decimals_for(0.004), 3);
    }

    #[test]
    fn non_negative_values_start_at_zero() {
        assert_eq!(y_range(0.4, 0.9).0, 0.0);
        assert_eq!(y_range(0.0, 0.0), (0.0, 0.1));
        let (low, high) = y_range(-2.0, 2.0);
        assert!(low < -2.0 && high > 2.0);
    }
}
