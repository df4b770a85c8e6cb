//! CSAF's product tree for an advisory: the programme as vendor, a branch per affected
//! product, and under it a branch per affected version, one for the range between
//! `introduced` and `fixed` (as `vers`), and one for the fixed version; each with a
//! product id, recorded as affected or fixed.

use serde::Serialize;

#[derive(Serialize)]
pub(super) struct ProductTree<'a> {
    branches: Vec<Branch<'a>>,
}

#[derive(Serialize)]
pub(super) struct Branch<'a> {
    category: &'static str,
    name: std::borrow::Cow<'a, str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    product: Option<Product>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    branches: Vec<Branch<'a>>,
}

#[derive(Serialize)]
pub(super) struct Product {
    name: String,
    product_id: String,
}

/// The products of the tree, and which are affected and which fixed.
#[derive(Default)]
pub(super) struct Products {
    next: usize,
    pub affected: Vec<String>,
    pub fixed: Vec<String>,
}

impl Products {
    fn add(&mut self, name: String, fixed: bool) -> Product {
        self.next += 1;
        let product_id = format!("CSAFPID-{:04}", self.next);
        if fixed {
            self.fixed.push(product_id.clone());
        } else {
            self.affected.push(product_id.clone());
        }
        Product { name, product_id }
    }
}

/// The product tree of `affected` under the programme `vendor`, and its products' ids.
pub(super) fn tree<'a>(
    vendor: &'a str,
    affected: &'a [crate::report::Affected],
) -> (ProductTree<'a>, Products) {
    let mut products = Products::default();
    let branches = affected
        .iter()
        .map(|p| product_branch(p, &mut products))
        .collect();
    let vendor = Branch {
        category: "vendor",
        name: vendor.into(),
        product: None,
        branches,
    };
    (
        ProductTree {
            branches: vec![vendor],
        },
        products,
    )
}

/// One product's branch: a branch per affected version, one for the range between
/// `introduced` and `fixed` (as `vers`), one for the fixed version; the product itself
/// when no version is known.
fn product_branch<'a>(p: &'a crate::report::Affected, products: &mut Products) -> Branch<'a> {
    let name = p.product.trim();
    let mut versions = Vec::new();
    for v in &p.versions {
        versions.push(Branch {
            category: "product_version",
            name: v.as_str().into(),
            product: Some(products.add(format!("{name} {v}"), false)),
            branches: Vec::new(),
        });
    }
    if !p.introduced.is_empty() || !p.fixed.is_empty() {
        let scheme = if [&p.introduced, &p.fixed]
            .iter()
            .all(|v| v.is_empty() || *v == "0" || super::osv::is_semver(v))
        {
            "semver"
        } else {
            "generic"
        };
        let mut constraints = Vec::new();
        if !p.introduced.is_empty() && p.introduced != "0" {
            constraints.push(format!(">={}", p.introduced));
        }
        if !p.fixed.is_empty() {
            constraints.push(format!("<{}", p.fixed));
        }
        if constraints.is_empty() {
            constraints.push("*".into());
        }
        let range = format!("vers:{scheme}/{}", constraints.join("|"));
        versions.push(Branch {
            category: "product_version_range",
            product: Some(products.add(format!("{name} {range}"), false)),
            name: range.into(),
            branches: Vec::new(),
        });
    }
    if !p.fixed.is_empty() && !p.versions.contains(&p.fixed) {
        versions.push(Branch {
            category: "product_version",
            name: p.fixed.as_str().into(),
            product: Some(products.add(format!("{name} {}", p.fixed), true)),
            branches: Vec::new(),
        });
    }
    if versions.is_empty() {
        return Branch {
            category: "product_name",
            name: name.into(),
            product: Some(products.add(name.to_string(), false)),
            branches: Vec::new(),
        };
    }
    Branch {
        category: "product_name",
        name: name.into(),
        product: None,
        branches: versions,
    }
}
