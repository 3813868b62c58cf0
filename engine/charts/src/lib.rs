//! Charts of job outputs drawn with plotters (PNG and SVG): a line per series over a time
//! axis, e.g. each tenant's completion rate per 15-minute window. Text uses the DejaVu Sans
//! font embedded in the binary, so charts look the same on every machine.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod data;
mod draw;
mod time;

use weir_api::{ApiError, ResultPage};

pub use time::parse_timestamp;

/// What to draw from a page of rows: the columns holding time, value and series name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineChartSpec {
    /// Shown above the chart.
    pub title: String,
    /// A timestamp column (`2026-02-12 10:30:00.000`); the horizontal axis.
    pub x: String,
    /// A numeric column; the vertical axis.
    pub y: String,
    /// One line is drawn per distinct value of this column.
    pub series: String,
}

/// Why a chart could not be drawn.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The caller asked for a column the page does not have.
    #[error("column `{column}` is not in the result (columns: {available})")]
    MissingColumn { column: String, available: String },
    /// A cell holds something the chart cannot place. `row` is 1-based.
    #[error("column `{column}`, row {row}: expected {expected}, got {value}")]
    BadValue {
        column: String,
        row: usize,
        /// The cell as JSON.
        value: String,
        expected: &'static str,
    },
    /// The caller asked for a picture too small to hold a chart, or absurdly large.
    #[error(
        "a chart must be between {MIN_WIDTH}x{MIN_HEIGHT} and {MAX_SIDE}x{MAX_SIDE} pixels, \
         got {width}x{height}"
    )]
    BadSize { width: u32, height: u32 },
    /// Internal: the embedded font did not load.
    #[error("internal error: the embedded chart font could not be loaded")]
    Font,
    /// Internal: plotters failed while drawing.
    #[error("internal error while drawing the chart: {0}")]
    Draw(String),
    /// Internal: the PNG encoder failed.
    #[error("internal error while encoding the PNG: {0}")]
    Png(#[from] png::EncodingError),
}

impl Error {
    /// A stable code for front ends: `chart.<what>`; user faults first, internal ones last.
    pub fn code(&self) -> &'static str {
        match self {
            Error::MissingColumn { .. } => "chart.missing_column",
            Error::BadValue { .. } => "chart.bad_value",
            Error::BadSize { .. } => "chart.bad_size",
            Error::Font | Error::Draw(_) | Error::Png(_) => "chart.internal",
        }
    }
}

impl From<&Error> for ApiError {
    fn from(err: &Error) -> Self {
        ApiError {
            code: err.code().to_string(),
            message: err.to_string(),
            span: None,
        }
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Smallest width a chart is drawn at.
pub const MIN_WIDTH: u32 = 240;
/// Smallest height a chart is drawn at.
pub const MIN_HEIGHT: u32 = 160;
/// Largest width or height a chart is drawn at.
pub const MAX_SIDE: u32 = 8192;

/// Draws `page` as a line chart and returns it as PNG bytes (8-bit RGB).
pub fn line_chart_png(
    page: &ResultPage,
    spec: &LineChartSpec,
    width: u32,
    height: u32,
) -> Result<Vec<u8>> {
    check_size(width, height)?;
    let data = data::extract(page, spec)?;
    let pixels = draw::bitmap(&data, spec, width, height)?;
    encode_png(&pixels, width, height)
}

/// Draws `page` as a line chart and returns it as an SVG document.
pub fn line_chart_svg(
    page: &ResultPage,
    spec: &LineChartSpec,
    width: u32,
    height: u32,
) -> Result<String> {
    check_size(width, height)?;
    let data = data::extract(page, spec)?;
    draw::svg(&data, spec, width, height)
}

fn check_size(width: u32, height: u32) -> Result<()> {
    if (MIN_WIDTH..=MAX_SIDE).contains(&width) && (MIN_HEIGHT..=MAX_SIDE).contains(&height) {
        Ok(())
    } else {
        Err(Error::BadSize { width, height })
    }
}

fn encode_png(rgb: &[u8], width: u32, height: u32) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, width, height);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        encoder.set_compression(png::Compression::Best);
        let mut writer = encoder.write_header()?;
        writer.write_image_data(rgb)?;
        writer.finish()?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};
    use weir_api::Column;

    /// Two tenants' completion rates over eight 15-minute windows, as the sample job writes.
    fn session_page() -> ResultPage {
        let columns = [
            ("window_end", "TIMESTAMP(3)"),
            ("tenant_id", "STRING"),
            ("completion_rate", "DOUBLE"),
        ]
        .into_iter()
        .map(|(name, ty)| Column {
            name: name.into(),
            data_type: ty.into(),
        })
        .collect();
        let mut rows = Vec::new();
        for w in 0..8 {
            let minutes = 15 * (w + 1);
            let end = format!(
                "2026-02-12 {:02}:{:02}:00.000",
                10 + minutes / 60,
                minutes % 60
            );
            rows.push(vec![
                json!(end),
                json!("acme"),
                json!(0.5 + 0.05 * f64::from(w)),
            ]);
            rows.push(vec![
                json!(end),
                json!("globex"),
                json!(0.8 - 0.04 * f64::from(w % 3)),
            ]);
        }
        let total_rows = rows.len() as u64;
        ResultPage {
            columns,
            rows,
            total_rows,
        }
    }

    fn spec() -> LineChartSpec {
        LineChartSpec {
            title: "Completion rate per 15 minutes".into(),
            x: "window_end".into(),
            y: "completion_rate".into(),
            series: "tenant_id".into(),
        }
    }

    /// Width and height from a PNG's IHDR chunk.
    fn png_size(bytes: &[u8]) -> (u32, u32) {
        let be = |at: usize| {
            u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
        };
        assert_eq!(&bytes[12..16], b"IHDR");
        (be(16), be(20))
    }

    #[test]
    fn renders_a_png_of_the_requested_size() {
        let png = line_chart_png(&session_page(), &spec(), 800, 450).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(png_size(&png), (800, 450));
        assert!(
            png.len() > 5_000,
            "a chart with text and lines, not a blank page: {}",
            png.len()
        );

        // Decode it back: the background is white, and both series' colours are drawn.
        let decoder = png::Decoder::new(std::io::Cursor::new(&png));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buf).unwrap();
        let pixels = &buf[..info.buffer_size()];
        assert_eq!(&pixels[..3], &[255, 255, 255]);
        for colour in &draw::PALETTE[..2] {
            let found = pixels
                .chunks_exact(3)
                .any(|p| p == [colour.0, colour.1, colour.2]);
            assert!(found, "no pixel of series colour {colour:?}");
        }
        if let Ok(path) = std::env::var("WEIR_CHART_SAMPLE") {
            std::fs::write(path, &png).unwrap();
        }
    }

    #[test]
    fn renders_an_svg_with_title_legend_and_time_labels() {
        let svg = line_chart_svg(&session_page(), &spec(), 800, 450).unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..60]);
        for text in [
            "Completion rate per 15 minutes",
            "acme",
            "globex",
            "10:30",
            "12:00",
            "2026-02-12",
        ] {
            assert!(svg.contains(text), "SVG lacks {text:?}");
        }
        // The date is shown once, in the axis description, not on every tick.
        assert_eq!(svg.matches("2026-02-12").count(), 1);
    }

    #[test]
    fn a_missing_column_is_named() {
        let spec = LineChartSpec {
            y: "avg_turns".into(),
            ..spec()
        };
        let err = line_chart_png(&session_page(), &spec, 800, 450).unwrap_err();
        assert!(matches!(&err, Error::MissingColumn { column, .. } if column == "avg_turns"));
        assert_eq!(
            err.to_string(),
            "column `avg_turns` is not in the result (columns: window_end, tenant_id, completion_rate)"
        );
        assert_eq!(ApiError::from(&err).code, "chart.missing_column");
        assert!(line_chart_svg(&session_page(), &spec, 800, 450).is_err());
    }

    #[test]
    fn a_bad_value_is_an_error() {
        let mut page = session_page();
        page.rows[3][2] = json!(true);
        let err = line_chart_png(&page, &spec(), 800, 450).unwrap_err();
        assert_eq!(
            err.to_string(),
            "column `completion_rate`, row 4: expected a number, got true"
        );
    }

    #[test]
    fn edge_cases_still_draw() {
        // No rows at all, one point, all values equal, NULL series and values.
        let mut empty = session_page();
        empty.rows.clear();
        let one = ResultPage {
            rows: session_page().rows[..1].to_vec(),
            ..session_page()
        };
        let mut flat = session_page();
        for row in &mut flat.rows {
            row[2] = json!(0);
            row[1] = Value::Null;
        }
        flat.rows[0][2] = Value::Null;
        for page in [empty, one, flat] {
            let png = line_chart_png(&page, &spec(), 320, 200).unwrap();
            assert_eq!(png_size(&png), (320, 200));
            line_chart_svg(&page, &spec(), 320, 200).unwrap();
        }
    }

    #[test]
    fn sizes_are_checked() {
        let err = line_chart_png(&session_page(), &spec(), 10, 10).unwrap_err();
        assert!(matches!(
            err,
            Error::BadSize {
                width: 10,
                height: 10
            }
        ));
    }
}
