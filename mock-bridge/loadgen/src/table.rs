//! Result tables, and the choice of the median run.

/// One Markdown table of results.
#[derive(Clone)]
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
    /// The column whose median picks which run's row is shown.
    key: usize,
}

impl Table {
    pub fn new(header: &[&str], key: usize) -> Table {
        Table {
            header: header.iter().map(|h| h.to_string()).collect(),
            rows: Vec::new(),
            key,
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// Prints, for each row, the run whose key figure is the median, and the
    /// key's range over all runs.
    pub fn print_median(runs: &[Table]) {
        let Some(first) = runs.first() else { return };
        let key = first.key;
        let mut header = first.header.clone();
        header.push(format!(
            "{} over {} runs (min–max)",
            first.header[key],
            runs.len()
        ));
        println!("| {} |", header.join(" | "));
        println!("|{}", " --- |".repeat(header.len()));
        for index in 0..first.rows.len() {
            let mut candidates: Vec<&Vec<String>> =
                runs.iter().filter_map(|t| t.rows.get(index)).collect();
            let value = |row: &Vec<String>| {
                row[key]
                    .split_whitespace()
                    .next()
                    .and_then(|v| v.parse::<f64>().ok())
                    .unwrap_or(f64::NAN)
            };
            candidates.sort_by(|a, b| value(a).total_cmp(&value(b)));
            let median = candidates[candidates.len() / 2];
            let range = format!(
                "{}–{}",
                candidates[0][key],
                candidates[candidates.len() - 1][key]
            );
            println!("| {} | {range} |", median.join(" | "));
        }
        println!();
    }
}
