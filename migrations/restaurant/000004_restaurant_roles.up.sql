-- Restaurant roles: owner (every permission), manager, staff. The common
-- seed's admin becomes owner in place, so its users keep the role by id.
UPDATE roles SET name = 'owner', description = 'Owner: every permission' WHERE name = 'admin';

INSERT INTO role_permissions (role_id, permission_id)
SELECT r.id, p.id FROM roles r CROSS JOIN permissions p WHERE r.name = 'owner'
ON CONFLICT DO NOTHING;

INSERT INTO roles (name, description) VALUES
    ('manager', 'Runs the restaurant: reads users and the audit log, reads and writes data');

INSERT INTO role_permissions (role_id, permission_id)
SELECT r.id, p.id FROM roles r
JOIN permissions p ON p.code IN ('users.read', 'audit.read', 'data.read', 'data.write')
WHERE r.name = 'manager';

UPDATE roles SET description = 'Staff: reads and writes data' WHERE name = 'staff';
