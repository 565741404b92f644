-- Migration 3 encrypted every 身份证号 and phone number; the plaintext columns go.
DROP INDEX people_id_number;
ALTER TABLE people DROP COLUMN id_number;
ALTER TABLE people DROP COLUMN phone;
