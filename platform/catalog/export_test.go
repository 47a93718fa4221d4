package catalog

// Exported for the tests of package catalog_test (which can use
// platformtest; this package's own tests cannot, platformtest imports it).
const TenantByIDQuery = tenantByIDQuery
