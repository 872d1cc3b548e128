// Package emulator is an in-process imitation of Twenty CRM's REST API,
// for tests and for trying pipelines offline (`pipe twenty emulator`),
// like stripe-mock for Stripe. It follows how the real server behaves
// (docs/connectors/twenty.md and the emulator section of docs/performance.md),
// quirks included: the behaviour, not the generated OpenAPI.
//
// Start one in a test:
//
//	srv := emulator.New(emulator.Config{APIKeys: []string{"test-key"}})
//	url := srv.Start() // http://127.0.0.1:PORT
//	defer srv.Close()
//
// or mount srv.Handler() on an httptest.Server.
//
// What it serves:
//   - GET/POST /rest/{plural}, GET/PATCH/PUT/DELETE /rest/{plural}/{id},
//     POST /rest/batch/{plural}, PATCH and DELETE /rest/{plural}?filter=...
//     (at most Config.MaxAffectedRecords, default 100, records are touched:
//     the first ones in position order; the rest are left alone),
//     PATCH /rest/restore/{plural}/{id}; a singular name is a 400
//     "object 'person' not found. Did you mean 'people'?".
//   - The standard objects people, companies, opportunities, notes,
//     noteTargets, tasks and taskTargets, with system fields (id,
//     createdAt, updatedAt, deletedAt, createdBy/updatedBy ACTOR with
//     source "API", position) and composite fields stored nested with
//     Twenty's defaults (an unset emails is {primaryEmail: "",
//     additionalEmails: null}).
//   - Envelopes and error bodies ({statusCode, error, messages, code?}) as
//     in the reference table; the hard delete answers like the soft one
//     ({data: {deletePerson: {id}}}); restore answers
//     {data: {restorePerson: {...}}}; filtered updates and deletes answer
//     {data: {updatePeople: [...]}} and {data: {deletePeople: [{id}]}}.
//   - Listing with limit (default 60, silently clamped to 200), opaque
//     cursors (base64 of the JSON of the order-by values plus id),
//     starting_after/ending_before, totalCount, pageInfo, order_by with the
//     four directions and id as tie-breaker (default order: position), the
//     full filter grammar with SQL NULL logic, and depth 0 (default) or 1.
//   - Writes with client ids, unique emails.primaryEmail (lower-cased),
//     domainName.primaryLinkUrl (origin lower-cased, trailing slash
//     dropped) and custom isUnique fields, soft-deleted rows keeping their
//     unique values; ?upsert=true; atomic batches of at most
//     Config.BatchLimit (default 200) records sharing one timestamp;
//     updatedAt strictly increasing per write (1 ms steps when the clock
//     does not move); foreign keys on join columns (companyId must name an
//     existing company; hard-deleting a company nulls people.companyId).
//   - GET /rest/metadata/objects, POST /rest/metadata/fields, webhooks
//     (POST/GET /rest/metadata/webhooks and the older /rest/webhooks, DELETE
//     .../webhooks/{id}) delivered asynchronously, signed like Twenty.
//   - Auth, two rate-limit token buckets, fault injection and counters.
//
// Known limits (differences from a real Twenty server):
//   - Authentication compares opaque bearer tokens with Config.APIKeys
//     (rotatable with SetAPIKeys, expirable with ExpireAPIKeys); it does
//     not verify HS256 JWTs. With no keys configured, any bearer token is
//     accepted. A missing token is 403, an unknown one 401 "Token invalid.",
//     an expired one 401 "Token has expired.".
//   - One workspace. No OAuth, no GraphQL, no custom objects (custom
//     fields on the standard objects only), no timelineActivities,
//     workspaceMembers, attachments or favorites.
//   - Errors that Twenty takes from Postgres (bad enum, bad uuid, foreign
//     key) reproduce Postgres' wording approximately.
//   - Text ordering and like/ilike use Go byte order and simple case
//     folding, not the database collation.
//   - depth=1 adds many-to-one relations (person.company) and one-to-many
//     lists named by the other object's plural (company.people); related
//     records carry no relations of their own. Older servers' depth=2 is
//     refused.
//   - Upsert updates matched records correctly, including composite
//     fields; the composite-field upsert bugs users report are not
//     reproduced. A matched record emits a "<object>.upserted" event.
//   - Webhook deliveries run concurrently and are never retried; their
//     order is not guaranteed. The real server does not deliver to
//     private or loopback addresses unless OUTBOUND_HTTP_SAFE_MODE_ENABLED
//     is false; the emulator delivers to them unless
//     Config.OutboundSafeMode is true, so tests can use 127.0.0.1.
//   - Rate-limit buckets refill continuously from Config.Clock; with a
//     frozen test clock they never refill.
//   - Fault injection is deterministic for a sequential client (one random
//     draw per authenticated request, seeded); with concurrent clients the
//     faults fall on whichever request draws them.
package emulator
