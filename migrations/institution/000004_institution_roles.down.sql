-- Users holding academic or teacher lose that role (user_roles cascade).
DELETE FROM roles WHERE name IN ('academic', 'teacher');
UPDATE roles SET name = 'staff', description = 'Day-to-day data access' WHERE name = 'prefect';
