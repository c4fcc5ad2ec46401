use super::*;
use proptest::prelude::*;
use serde_json::Value;

const METHODS: [&str; 6] = ["GET", "HEAD", "PUT", "POST", "PATCH", "DELETE"];

fn method(m: &str) -> Method {
    Method::from_bytes(m.as_bytes()).unwrap()
}

/// Every path of the OpenAPI document with the methods it takes.
fn documented() -> Vec<(String, Vec<String>)> {
    let doc = crate::openapi::document();
    doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(p, item)| {
            let methods = item
                .as_object()
                .unwrap()
                .keys()
                .map(|m| m.to_uppercase())
                .collect();
            (p.clone(), methods)
        })
        .collect()
}

#[test]
fn every_equivalent_is_a_documented_route() {
    let doc = crate::openapi::document();
    for r in ROUTES {
        assert!(!r.equivalent.is_empty(), "{} {}", r.method, r.path);
        for (m, p) in r.equivalent {
            let op = doc["paths"][*p].get(m.to_lowercase());
            assert!(
                op.is_some_and(Value::is_object),
                "{} {}: `{m} {p}` is not in the document",
                r.method,
                r.path
            );
        }
    }
}

#[test]
fn no_pattern_matches_a_path_of_skillgrid() {
    let id = Uuid::now_v7().to_string();
    for (path, _) in documented() {
        for filled in [
            path.clone(),
            path.replace("{userId}", &id).replace("{skillId}", &id),
            path.replace("{userId}", "x").replace("{skillId}", "x"),
        ] {
            for m in METHODS {
                assert_eq!(recognise(&method(m), &filled), None, "{m} {filled}");
            }
        }
    }
}

#[test]
fn the_table_is_well_formed() {
    for (i, r) in ROUTES.iter().enumerate() {
        assert!(r.path.starts_with('/'), "{}", r.path);
        assert!(
            METHODS.contains(&r.method) && r.method != "HEAD",
            "{}",
            r.method
        );
        assert!(
            !ROUTES[..i]
                .iter()
                .any(|o| o.product == r.product && o.method == r.method && o.path == r.path),
            "{} {} twice",
            r.method,
            r.path
        );
        for seg in r.path.split('/').filter(|s| !s.is_empty()) {
            let open = seg.matches('{').count();
            assert_eq!(open, seg.matches('}').count(), "{seg}");
            assert!(open <= 1 && (open == 0 || seg.ends_with('}')), "{seg}");
        }
        assert!(!r.body().contains("{scale}"));
        assert!(
            !r.body().ends_with('.'),
            "{}: the detail adds the stop",
            r.path
        );
    }
    for p in Product::ALL {
        assert!(ROUTES.iter().any(|r| r.product == p), "{}", p.name());
    }
}

#[test]
fn the_genesys_bulk_route_names_skillgrids_with_the_callers_id() {
    let id = Uuid::now_v7();
    let upper = id.to_string().to_uppercase();
    let d = recognise(
        &Method::PUT,
        &format!("/api/v2/users/{upper}/routingskills/bulk"),
    )
    .unwrap();
    assert!(d.starts_with("`PUT /api/v2/users/{userId}/routingskills/bulk` is Genesys Cloud's route to replace a user's routing skills."), "{d}");
    assert!(
        d.contains(&format!("`PUT /api/v2/agents/users/{id}/skills`")),
        "{d}"
    );
    assert!(d.contains("0–100 by default"), "{d}");
    assert!(d.contains("/docs#coming-from-another-product"), "{d}");
    // An id that is not a UUID is not copied into the answer.
    let d = recognise(&Method::PUT, "/api/v2/users/me/routingskills/bulk").unwrap();
    assert!(
        d.contains("`PUT /api/v2/agents/users/{userId}/skills`"),
        "{d}"
    );
    assert!(!d.contains("/me/"), "{d}");
}

#[test]
fn the_most_literal_pattern_wins() {
    let d = recognise(&Method::PUT, "/api/v2/users/u/routingskills/bulk").unwrap();
    assert!(d.contains("to replace a user's routing skills"), "{d}");
    let d = recognise(&Method::PUT, "/api/v2/users/u/routingskills/s").unwrap();
    assert!(d.contains("to change the proficiency"), "{d}");
    let d = recognise(&Method::GET, "/inContactAPI/services/v30.0/skills/agents").unwrap();
    assert!(d.contains("several skills"), "{d}");
}

#[test]
fn letter_case_and_versions_follow_each_product() {
    for path in [
        "/inContactAPI/services/v30.0/agents/17/skills",
        "/incontactapi/SERVICES/V2/Agents/17/Skills",
        "/services/data/v60.0/sobjects/serviceresourceskill",
    ] {
        assert!(recognise(&Method::POST, path).is_some(), "{path}");
    }
    for path in [
        "/API/V2/USERS/x/ROUTINGSKILLS/bulk",
        "/users/i/u/Associate-Proficiencies",
        "/inContactAPI/services/v/agents/17/skills",
        "/inContactAPI/services/v30./agents/17/skills",
        "/inContactAPI/services/vx/agents/17/skills",
        "/inContactAPI/services/30.0/agents/17/skills",
        "/api/v2/users/x/routingskills/bulk/more",
    ] {
        assert_eq!(recognise(&Method::POST, path), None, "{path}");
        assert_eq!(recognise(&Method::PUT, path), None, "{path}");
    }
    // Doubled and trailing slashes change nothing; HEAD is GET.
    assert!(recognise(&Method::PUT, "/api/v2//users/x/routingskills/bulk/").is_some());
    assert!(recognise(&Method::HEAD, "/api/v2/routing/skills").is_some());
}

#[test]
fn another_method_on_a_known_path_names_the_methods_it_takes() {
    let id = Uuid::now_v7();
    let d = recognise(
        &Method::POST,
        &format!("/api/v2/users/{id}/routingskills/bulk"),
    )
    .unwrap();
    assert!(d.starts_with("`POST /api/v2/users/{userId}/routingskills/bulk` is a route of neither skillgrid nor Genesys Cloud"), "{d}");
    assert!(
        d.contains("`PUT` to replace a user's routing skills"),
        "{d}"
    );
    assert!(d.contains("`PATCH` to add routing skills to a user"), "{d}");
    assert!(
        d.contains(&format!(
            "`PUT /api/v2/agents/users/{id}/skills` or `PATCH /api/v2/agents/users/{id}/skills`"
        )),
        "{d}"
    );
}

#[test]
fn paths_group_the_methods_of_each_path() {
    let p = paths();
    assert!(p.contains(&(
        Product::GenesysCloud,
        "GET|POST /api/v2/users/{userId}/routingskills".to_string()
    )));
    assert!(p.contains(&(
        Product::GenesysCloud,
        "PUT|PATCH /api/v2/users/{userId}/routingskills/bulk".to_string()
    )));
    let methods: usize = p.iter().map(|(_, r)| r.split('|').count()).sum();
    assert_eq!(methods, ROUTES.len());
}

/// Segments that make up the table's paths, real routes' and odd ones.
fn segments() -> impl Strategy<Value = String> {
    let mut known: Vec<String> = ROUTES
        .iter()
        .flat_map(|r| r.path.split('/'))
        .chain(["api", "v2", "agents", "admin", "v30.0", "%2F", "%00", ".."])
        .map(String::from)
        .collect();
    known.push(Uuid::nil().to_string());
    known.sort();
    known.dedup();
    prop_oneof![
        prop::sample::select(known),
        "[^/]{0,12}",
        "[%0-9A-Fa-f]{0,9}",
    ]
}

proptest! {
    #[test]
    fn any_path_gets_an_answer_without_panicking(
        segs in prop::collection::vec(segments(), 0..12),
        m in prop::sample::select(METHODS.to_vec()),
    ) {
        let path = format!("/{}", segs.join("/"));
        if let Some(d) = recognise(&method(m), &path) {
            prop_assert!(d.contains("/docs#coming-from-another-product"), "{}", d);
            prop_assert!(Product::ALL.iter().any(|p| d.contains(p.name())), "{}", d);
        }
    }
}
