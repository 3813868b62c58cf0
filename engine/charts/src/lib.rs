//! Charts of job outputs drawn with plotters (PNG and SVG).
