-- A user's chosen screen language; NULL follows the browser (Accept-Language).
ALTER TABLE users ADD COLUMN language text CHECK (language IN ('es', 'en'));
COMMENT ON COLUMN users.language IS 'Screen language chosen by the user (es, en); NULL: the browser''s.';
