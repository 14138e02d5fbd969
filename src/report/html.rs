//! A self-contained HTML report: one file with inline CSS and inline SVG
//! figures, readable offline, with no script and no outside address.
//! Every piece of text is escaped; only SVG from [`crate::report::plot`] goes in as
//! markup.

use std::fmt::Write as _;
use std::path::Path;

/// A titled part of the report.
#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    pub heading: String,
    pub blocks: Vec<Block>,
}

/// One piece of a section.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// A paragraph of plain text.
    Text(String),
    /// A table: header cells, then rows of cells.
    Table {
        header: Vec<String>,
        rows: Vec<Vec<String>>,
    },
    /// An SVG document, shown inline, with a caption under it.
    Figure { svg: String, caption: String },
    /// Preformatted text, such as the scenario file.
    Pre(String),
}

impl Block {
    /// A figure from an SVG file written by [`crate::report::plot`].
    pub fn figure_from_file(path: &Path, caption: &str) -> Result<Block, String> {
        let svg = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        Ok(Block::Figure {
            svg,
            caption: caption.to_string(),
        })
    }
}

/// The whole page.
pub fn report(title: &str, sections: &[Section]) -> String {
    let mut out = String::new();
    let title = escape(title);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<h1>{title}</h1>\n"
    );
    for section in sections {
        let _ = writeln!(out, "<section>\n<h2>{}</h2>", escape(&section.heading));
        for block in &section.blocks {
            push_block(&mut out, block);
        }
        out.push_str("</section>\n");
    }
    out.push_str("</body>\n</html>\n");
    out
}

/// Writes the page atomically, as every other output is.
pub fn write(path: &Path, html: &str) -> Result<(), String> {
    crate::report::write_atomic(path, html)
}

/// Escapes text for element content and quoted attribute values alike.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn push_block(out: &mut String, block: &Block) {
    match block {
        Block::Text(text) => {
            let _ = writeln!(out, "<p>{}</p>", escape(text));
        }
        Block::Table { header, rows } => {
            out.push_str("<table>\n<thead><tr>");
            for cell in header {
                let _ = write!(out, "<th>{}</th>", escape(cell));
            }
            out.push_str("</tr></thead>\n<tbody>\n");
            for row in rows {
                out.push_str("<tr>");
                for cell in row {
                    let class = if looks_numeric(cell) {
                        " class=\"num\""
                    } else {
                        ""
                    };
                    let _ = write!(out, "<td{class}>{}</td>", escape(cell));
                }
                out.push_str("</tr>\n");
            }
            out.push_str("</tbody>\n</table>\n");
        }
        Block::Figure { svg, caption } => {
            out.push_str("<figure>\n");
            match inline_svg(svg) {
                Some(markup) => out.push_str(markup),
                None => out.push_str(
                    "<p class=\"missing\">(figure not shown: not a plain SVG document)</p>",
                ),
            }
            let _ = writeln!(
                out,
                "\n<figcaption>{}</figcaption>\n</figure>",
                escape(caption)
            );
        }
        Block::Pre(text) => {
            let _ = writeln!(out, "<pre>{}</pre>", escape(text));
        }
    }
}

/// The `<svg>…</svg>` element of an SVG document, without the XML prolog
/// (which is not allowed inside HTML); `None` if it is not one, or if it has
/// markup that could run or load something, since it goes in unescaped.
fn inline_svg(svg: &str) -> Option<&str> {
    let start = svg.find("<svg")?;
    let end = svg.rfind("</svg>")? + "</svg>".len();
    let body = svg.get(start..end)?;
    is_inert(body).then_some(body)
}

/// No script, foreign content, link or event handler in any tag. Only tags
/// are looked at: text inside an SVG has its `<` and `>` escaped.
fn is_inert(svg: &str) -> bool {
    svg.split('<').skip(1).all(|rest| {
        let tag = rest.split('>').next().unwrap_or("").to_ascii_lowercase();
        let mut words = tag.trim_start_matches('/').split_whitespace();
        let name = words.next().unwrap_or("");
        !matches!(
            name,
            "script" | "foreignobject" | "iframe" | "image" | "use"
        ) && !words.any(|attr| attr.starts_with("on") || attr.contains("href"))
            && !tag.contains("javascript:")
    })
}

/// Right-aligns cells that read as numbers ("4.2", "≥ 7", "1.5e-9", "99.99 %").
fn looks_numeric(cell: &str) -> bool {
    let t = cell
        .trim()
        .trim_start_matches(['≥', '≤', '~', '<', '>'])
        .trim_start();
    t.starts_with(|c: char| c.is_ascii_digit())
        || (t.starts_with(['-', '+', '.']) && t[1..].starts_with(|c: char| c.is_ascii_digit()))
}

const CSS: &str = "
body { font-family: system-ui, 'DejaVu Sans', sans-serif; max-width: 72rem; margin: 2rem auto;
       padding: 0 1rem; color: #222; line-height: 1.45; }
h1 { font-size: 1.6rem; border-bottom: 2px solid #4e79a7; padding-bottom: .3rem; }
h2 { font-size: 1.25rem; margin-top: 2.2rem; }
table { border-collapse: collapse; margin: 1rem 0; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #ccc; padding: .3rem .7rem; text-align: left; }
th { background: #eef2f7; }
td.num { text-align: right; }
tbody tr:nth-child(even) { background: #f8f8f8; }
figure { margin: 1.2rem 0; }
figure svg { max-width: 100%; height: auto; border: 1px solid #ddd; }
figcaption { color: #555; font-size: .9rem; }
pre { background: #f6f6f6; border: 1px solid #ddd; padding: .8rem; overflow-x: auto; }
.missing { color: #a33; }
";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape("<a href=\"x\">&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn inlines_only_plain_svg() {
        let doc = "<?xml version=\"1.0\"?>\n<svg width=\"1\"><text>x</text></svg>\n";
        assert_eq!(
            inline_svg(doc),
            Some("<svg width=\"1\"><text>x</text></svg>")
        );
        assert_eq!(inline_svg("<svg><script>alert(1)</script></svg>"), None);
        assert_eq!(inline_svg("<svg onload=\"alert(1)\"></svg>"), None);
        assert!(inline_svg("<svg><text>backup onsite=3</text></svg>").is_some());
        assert_eq!(inline_svg("<svg><a href=\"https://x\">x</a></svg>"), None);
        assert_eq!(inline_svg("<p>not svg</p>"), None);
    }

    #[test]
    fn numbers_are_recognised() {
        for n in ["4.2", "≥ 7.1", "-3", "1.5e-9", ".5", "99.99 %"] {
            assert!(looks_numeric(n), "{n}");
        }
        for t in ["LRS", "", "-", "n/a"] {
            assert!(!looks_numeric(t), "{t}");
        }
    }
}
