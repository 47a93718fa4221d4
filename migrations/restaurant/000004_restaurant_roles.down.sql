-- Users holding manager lose that role (user_roles cascade).
DELETE FROM roles WHERE name = 'manager';
UPDATE roles SET name = 'admin', description = 'Full administrative access' WHERE name = 'owner';
UPDATE roles SET description = 'Day-to-day data access' WHERE name = 'staff';
