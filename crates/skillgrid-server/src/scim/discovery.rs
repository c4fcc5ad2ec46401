//! What this service provider supports (RFC 7644 section 4): `/ServiceProviderConfig`,
//! `/ResourceTypes` and `/Schemas`. They say only what is true: PATCH, filters (at most
//! [`MAX_RESULTS`] resources a page), sorting and ETags; Users and Groups; no bulk, no
//! password change.

use super::groups::{GROUP_SCHEMA, GROUP_SKILLS_SCHEMA};
use super::users::MAX_RESULTS;
use super::{base_url, list_response, scim_json, ScimCaller, ScimError, ScimResult};
use crate::state::{AppState, OrgView};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};
use skillgrid_core::scim::filter::{SKILLS_SCHEMA, USER_SCHEMA};

const SPC_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
const RT_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
const SCHEMA_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/ServiceProviderConfig", get(config))
        .route("/ResourceTypes", get(resource_types))
        .route("/ResourceTypes/{id}", get(resource_type))
        .route("/Schemas", get(schemas))
        .route("/Schemas/{id}", get(schema))
}

fn list(items: Vec<Value>) -> Response {
    list_response(items.len(), 1, items)
}

async fn config(_: ScimCaller, headers: HeaderMap) -> ScimResult<Response> {
    let base = base_url(&headers);
    Ok(scim_json(&json!({
        "schemas": [SPC_SCHEMA],
        "documentationUri": "/docs/scim",
        "patch": {"supported": true},
        "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": true, "maxResults": MAX_RESULTS},
        "changePassword": {"supported": false},
        "sort": {"supported": true},
        "etag": {"supported": true},
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "OAuth Bearer Token",
            "description": "A bearer token of an API client holding the scope `scim`, from POST /oauth/token",
            "primary": true,
        }],
        "meta": {"resourceType": "ServiceProviderConfig", "location": format!("{base}/ServiceProviderConfig")},
    })))
}

fn user_type(base: &str) -> Value {
    json!({
        "schemas": [RT_SCHEMA],
        "id": "User",
        "name": "User",
        "endpoint": "/Users",
        "description": "An agent: its email, name, state and skills",
        "schema": USER_SCHEMA,
        "schemaExtensions": [{"schema": SKILLS_SCHEMA, "required": false}],
        "meta": {"resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/User")},
    })
}

fn group_type(base: &str) -> Value {
    json!({
        "schemas": [RT_SCHEMA],
        "id": "Group",
        "name": "Group",
        "endpoint": "/Groups",
        "description": "A skill profile: its members hold its skills",
        "schema": GROUP_SCHEMA,
        "schemaExtensions": [{"schema": GROUP_SKILLS_SCHEMA, "required": false}],
        "meta": {"resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/Group")},
    })
}

async fn resource_types(_: ScimCaller, headers: HeaderMap) -> ScimResult<Response> {
    let base = base_url(&headers);
    Ok(list(vec![user_type(&base), group_type(&base)]))
}

async fn resource_type(
    _: ScimCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ScimResult<Response> {
    match id.as_str() {
        "User" => Ok(scim_json(&user_type(&base_url(&headers)))),
        "Group" => Ok(scim_json(&group_type(&base_url(&headers)))),
        _ => Err(ScimError::new(
            StatusCode::NOT_FOUND,
            None,
            format!("no resource type `{id}`; this service has User and Group"),
        )),
    }
}

fn attr(name: &str, ty: &str, required: bool, mutability: &str, uniqueness: &str) -> Value {
    let mut a = json!({
        "name": name, "type": ty, "multiValued": false, "required": required,
        "mutability": mutability, "returned": "default", "uniqueness": uniqueness,
        "description": "",
    });
    if ty == "string" {
        a["caseExact"] = json!(false);
    }
    a
}

fn sub_attrs(mut a: Value, multi: bool, subs: Vec<Value>) -> Value {
    a["multiValued"] = json!(multi);
    a["subAttributes"] = json!(subs);
    a
}

fn schema_of(id: &str, base: &str, org: &OrgView) -> Option<Value> {
    let (name, description, attributes) = if id == USER_SCHEMA {
        let mut external_id = attr("externalId", "string", false, "readWrite", "none");
        external_id["caseExact"] = json!(true);
        let mut user_name = attr("userName", "string", true, "readWrite", "server");
        user_name["description"] = json!("The agent's email address, unique in the organization");
        (
            "User",
            "An agent",
            vec![
                user_name,
                sub_attrs(
                    attr("name", "complex", false, "readWrite", "none"),
                    false,
                    vec![
                        attr("formatted", "string", false, "readWrite", "none"),
                        attr("givenName", "string", false, "readWrite", "none"),
                        attr("familyName", "string", false, "readWrite", "none"),
                    ],
                ),
                attr("displayName", "string", false, "readWrite", "none"),
                sub_attrs(
                    attr("emails", "complex", true, "readWrite", "none"),
                    true,
                    vec![
                        attr("value", "string", true, "readWrite", "none"),
                        attr("type", "string", false, "readWrite", "none"),
                        attr("primary", "boolean", false, "readWrite", "none"),
                    ],
                ),
                // Every agent is active or not: required, though a create without it is active.
                attr("active", "boolean", true, "readWrite", "none"),
                external_id,
                sub_attrs(
                    attr("groups", "complex", false, "readOnly", "none"),
                    true,
                    vec![
                        attr("value", "string", false, "readOnly", "none"),
                        attr("$ref", "reference", false, "readOnly", "none"),
                        attr("display", "string", false, "readOnly", "none"),
                    ],
                ),
            ],
        )
    } else if id == GROUP_SCHEMA {
        let mut external_id = attr("externalId", "string", false, "readWrite", "none");
        external_id["caseExact"] = json!(true);
        let mut display = attr("displayName", "string", true, "readWrite", "server");
        display["description"] = json!("The group's name, unique in the organization");
        let mut value = attr("value", "string", false, "immutable", "none");
        value["description"] = json!("A User's id");
        let mut reference = attr("$ref", "reference", false, "immutable", "none");
        reference["referenceTypes"] = json!(["User"]);
        (
            "Group",
            "A skill profile",
            vec![
                display,
                sub_attrs(
                    attr("members", "complex", false, "readWrite", "none"),
                    true,
                    vec![
                        value,
                        reference,
                        attr("display", "string", false, "readWrite", "none"),
                        attr("type", "string", false, "readWrite", "none"),
                    ],
                ),
                external_id,
            ],
        )
    } else if id == SKILLS_SCHEMA || id == GROUP_SKILLS_SCHEMA {
        let mut skill = attr("skill", "string", true, "readWrite", "none");
        skill["description"] = json!("A skill of the catalog, by name (any case) or id");
        // The organization's active skills and levels, as suggestions (RFC 7643 section 7).
        let names: Vec<&str> = org
            .catalog
            .iter()
            .filter(|c| c.active)
            .map(|c| c.name.as_str())
            .collect();
        skill["canonicalValues"] = json!(names);
        let mut prof = attr("proficiency", "string", true, "readWrite", "none");
        prof["description"] = json!(
            "A level's name, or a number within the organization's proficiency scale; read back as the level's name when it is exactly a level's value"
        );
        let levels: Vec<&str> = org
            .settings
            .proficiency_scale
            .levels
            .iter()
            .map(|(n, _)| n)
            .collect();
        prof["canonicalValues"] = json!(levels);
        let (name, description) = if id == SKILLS_SCHEMA {
            ("SkillgridUser", "The agent's skills")
        } else {
            (
                "SkillgridGroup",
                "The skills every member holds, at least at this proficiency",
            )
        };
        (
            name,
            description,
            vec![sub_attrs(
                attr("skills", "complex", false, "readWrite", "none"),
                true,
                vec![skill, prof],
            )],
        )
    } else {
        return None;
    };
    Some(json!({
        "schemas": [SCHEMA_SCHEMA],
        "id": id,
        "name": name,
        "description": description,
        "attributes": attributes,
        "meta": {"resourceType": "Schema", "location": format!("{base}/Schemas/{id}")},
    }))
}

async fn schemas(
    State(state): State<AppState>,
    ScimCaller(caller): ScimCaller,
    headers: HeaderMap,
) -> ScimResult<Response> {
    let base = base_url(&headers);
    let org = caller.org(&state).await?;
    let all = [
        USER_SCHEMA,
        SKILLS_SCHEMA,
        GROUP_SCHEMA,
        GROUP_SKILLS_SCHEMA,
    ]
    .iter()
    .filter_map(|id| schema_of(id, &base, &org))
    .collect();
    Ok(list(all))
}

async fn schema(
    State(state): State<AppState>,
    ScimCaller(caller): ScimCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ScimResult<Response> {
    let org = caller.org(&state).await?;
    schema_of(&id, &base_url(&headers), &org)
        .map(|s| scim_json(&s))
        .ok_or_else(|| {
            ScimError::new(
                StatusCode::NOT_FOUND,
                None,
                format!("no schema `{id}`; this service has {USER_SCHEMA}, {SKILLS_SCHEMA}, {GROUP_SCHEMA} and {GROUP_SKILLS_SCHEMA}"),
            )
        })
}
