//! The result table: each row a measured figure, a reference measured in the same run, their
//! ratio, and the goal.

/// One row.
pub struct Row {
    /// What is measured.
    pub what: String,
    /// The figure.
    pub value: String,
    /// The reference it is compared with.
    pub reference: String,
    /// value / reference (or the stated ratio).
    pub ratio: f64,
    /// The goal, as text.
    pub goal: String,
}

/// The rows, in order.
#[derive(Default)]
pub struct Table {
    rows: Vec<Row>,
}

impl Table {
    /// Add a row.
    pub fn add(&mut self, what: &str, value: String, reference: String, ratio: f64, goal: &str) {
        println!("  measured: {what}: {value} vs {reference} = {ratio:.2}");
        self.rows.push(Row { what: what.into(), value, reference, ratio, goal: goal.into() });
    }

    /// Print the table (Markdown, so it pastes into the README).
    pub fn print(&self) {
        println!("\n| figure | apiary | reference | ratio | goal |");
        println!("| --- | --- | --- | --- | --- |");
        for r in &self.rows {
            println!("| {} | {} | {} | {:.2} | {} |", r.what, r.value, r.reference, r.ratio, r.goal);
        }
    }
}

/// Records per second, for people.
pub fn per_second(n: f64, secs: f64) -> f64 {
    n / secs.max(1e-9)
}
