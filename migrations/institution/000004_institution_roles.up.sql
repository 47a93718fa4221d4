-- Institution roles: admin (every permission), academic, teacher, prefect.
-- The common seed's staff (data.read, data.write) becomes prefect in place,
-- which has the same permissions, so its users keep working (by id).
INSERT INTO role_permissions (role_id, permission_id)
SELECT r.id, p.id FROM roles r CROSS JOIN permissions p WHERE r.name = 'admin'
ON CONFLICT DO NOTHING;

UPDATE roles SET name = 'prefect', description = 'Prefecture: reads and writes data' WHERE name = 'staff';

INSERT INTO roles (name, description) VALUES
    ('academic', 'Academic office: reads users, reads and writes data'),
    ('teacher', 'Teacher: reads data');

INSERT INTO role_permissions (role_id, permission_id)
SELECT r.id, p.id FROM roles r
JOIN permissions p ON (r.name = 'academic' AND p.code IN ('users.read', 'data.read', 'data.write'))
                   OR (r.name = 'teacher' AND p.code = 'data.read')
                   OR (r.name = 'prefect' AND p.code IN ('data.read', 'data.write'))
ON CONFLICT DO NOTHING;
