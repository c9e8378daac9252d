//! `wharf history`: the build steps an image's config records, newest
//! first, in Docker's columns.

use serde_json::json;

use super::{Outcome, open_store, reference};
use crate::cli::HistoryArgs;
use crate::format::Format;
use crate::progress::human_size;
use crate::report;

/// The column of each field of `history`'s rows.
const HISTORY_HEADERS: &[(&str, &str)] = &[
    ("ID", "IMAGE"),
    ("CreatedSince", "CREATED"),
    ("CreatedAt", "CREATED AT"),
    ("CreatedBy", "CREATED BY"),
    ("Size", "SIZE"),
    ("Comment", "COMMENT"),
];

pub fn history(args: HistoryArgs) -> Outcome {
    let store = open_store()?;
    let name = reference(&args.reference)?;
    let descriptor = store.lookup(&name).map_err(|e| report::fail(&e))?;
    let image = store
        .image(&name.familiar(), &descriptor)
        .map_err(|e| report::fail(&e))?;
    // Layers in build order: each step that made one takes the next.
    let mut layers = image.manifest.layers.iter();
    let mut rows: Vec<serde_json::Value> = image
        .config
        .history
        .iter()
        .map(|step| {
            let size = if step.empty_layer {
                0
            } else {
                layers.next().map_or(0, |layer| layer.size)
            };
            let created_by = step.created_by.clone().unwrap_or_default();
            let created = step.created.clone().unwrap_or_default();
            json!({
                "ID": "<missing>",
                "CreatedSince": super::containers::ago(&created),
                "CreatedAt": created,
                "CreatedBy": if args.no_trunc { created_by } else { super::containers::truncate(&created_by, 45) },
                "Size": human_size(size),
                "Comment": step.comment.clone().unwrap_or_default(),
            })
        })
        .collect();
    rows.reverse();
    let id = image.id().hex();
    if let Some(top) = rows.first_mut() {
        top["ID"] = if args.no_trunc {
            format!("sha256:{id}")
        } else {
            id[..12].to_owned()
        }
        .into();
    }
    if args.quiet {
        for row in &rows {
            println!("{}", row["ID"].as_str().unwrap_or_default());
        }
        return Ok(0);
    }
    let format = match &args.format {
        Format::Table => crate::format::parse_format(
            "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}",
        )
        .map_err(|e| report::fail_with(&e))?,
        other => other.clone(),
    };
    format
        .print(&rows, HISTORY_HEADERS)
        .map_err(|e| report::fail_with(&e))?;
    Ok(0)
}
