DROP TABLE acme_cache;
