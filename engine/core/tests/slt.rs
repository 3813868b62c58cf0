//! Runs every `tests/slt/*.slt` file in a session of its own whose relative paths resolve in
//! a fresh folder: statements build the catalog, `INSERT INTO ... VALUES` into a filesystem
//! table appends a file (one source batch, then a watermark), and `query` runs a streaming
//! query over the bounded input to its end.

use std::path::PathBuf;

use sqllogictest::{DBOutput, DefaultColumnType, Runner};
use weir_engine::format::cell_text;
use weir_engine::{RunOptions, Session};

struct WeirDb {
    session: Session,
}

impl sqllogictest::DB for WeirDb {
    type Error = weir_engine::Error;
    type ColumnType = DefaultColumnType;

    fn run(&mut self, sql: &str) -> Result<DBOutput<DefaultColumnType>, Self::Error> {
        let (report, results) = self.session.execute_collect(sql)?;
        match results.last() {
            Some(result) => {
                let mut rows = Vec::new();
                for batch in &result.batches {
                    for row in 0..batch.num_rows() {
                        rows.push(batch.columns().iter().map(|c| cell_text(c, row)).collect());
                    }
                }
                let types = vec![DefaultColumnType::Any; result.schema.fields().len()];
                Ok(DBOutput::Rows { types, rows })
            }
            None => Ok(DBOutput::StatementComplete(report.metrics.rows_written)),
        }
    }

    fn engine_name(&self) -> &str {
        "weir"
    }
}

#[test]
fn sqllogictest_files() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/slt");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "slt"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 5,
        "expected the .slt files in {}",
        dir.display()
    );
    let mut failures = Vec::new();
    for file in &files {
        let workdir = tempfile::tempdir().unwrap();
        let base_dir = workdir.path().to_path_buf();
        let mut runner = Runner::new(move || {
            let base_dir = base_dir.clone();
            async move {
                let options = RunOptions {
                    print_to_stdout: false,
                    base_dir,
                    ..RunOptions::default()
                };
                Ok(WeirDb {
                    session: Session::new(options),
                })
            }
        });
        if let Err(e) = runner.run_file(file) {
            failures.push(format!("{}: {}", file.display(), e.display(true)));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
