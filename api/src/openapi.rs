//! The OpenAPI 3.1 document of the JSON API, generated from the handlers'
//! `#[utoipa::path]` attributes and the request and answer types, so it describes
//! what the code does. `myvid` merges in the endpoint's `NEWVIDEOUPLOAD` and serves
//! the whole at `GET /v1/openapi.json`; a test holds it against the routers.

use utoipa::Modify;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

use crate::{chat, legacy, live, multipart, social, v1};

/// Name of the bearer-token security scheme the operations refer to.
pub const BEARER: &str = "bearer";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "MyVid API",
        description = "The original MyVid calls (`/API/...`, `NEWVIDEOUPLOAD`) and the versioned `/v1` API. \
                       Every error is `{\"error\":{\"code\",\"message\"}}` (the `Error` schema); see docs/API.md.",
        license(name = "AGPL-3.0-or-later", identifier = "AGPL-3.0-or-later"),
    ),
    paths(
        legacy::list_videos,
        legacy::get_video,
        legacy::new_upload,
        legacy::publish_video,
        live::new_stream,
        live::new_stream_v1,
        live::ice,
        live::ice_v1,
        v1::signup,
        v1::login,
        v1::logout,
        v1::me,
        v1::my_videos,
        v1::list_videos,
        v1::random_videos,
        v1::get_video,
        v1::get_transcode,
        v1::publish_video,
        v1::new_upload,
        v1::check_upload,
        social::edit_video,
        social::delete_video,
        social::related_videos,
        social::count_view,
        social::get_channel,
        social::channel_videos,
        social::follow,
        social::unfollow,
        social::my_following,
        multipart::start,
        multipart::part_urls,
        multipart::status,
        multipart::complete,
        multipart::abort,
        chat::chat_token_v1,
    ),
    modifiers(&BearerScheme),
    tags(
        (name = "original", description = "The original MyVid calls, same paths and shapes"),
        (name = "v1", description = "The versioned API, cursor-paged"),
    )
)]
struct ApiDoc;

/// Adds the `bearer` scheme: `Authorization: Bearer <token>` from sign-up or log-in.
struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let scheme = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .description(Some("the `token` from `POST /v1/auth/signup` or `/v1/auth/login`"))
            .build();
        components.add_security_scheme(BEARER, SecurityScheme::Http(scheme));
    }
}

/// The API's document (without the endpoint's calls).
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}
