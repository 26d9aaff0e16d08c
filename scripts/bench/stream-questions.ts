/**
 * Questions for the streaming benchmark, about the pages of the bundled manual sample
 * (samples/postgres-docs), so every answer retrieves real passages. Requests cycle through
 * them, so concurrent requests rarely ask the same thing.
 */
export const streamQuestions: readonly string[] = [
  'How do I build an index without locking out writes?',
  'What is the difference between VACUUM and VACUUM FULL?',
  'How does autovacuum decide when to vacuum a table?',
  'What isolation levels does PostgreSQL support?',
  'How do I restore a database from a pg_dump archive?',
  'How do I set up continuous archiving for point-in-time recovery?',
  'Which authentication methods can pg_hba.conf use?',
  'When can PostgreSQL answer a query with an index-only scan?',
  'How do partial indexes work and when should I use one?',
  'What does EXPLAIN ANALYZE show that plain EXPLAIN does not?',
  'How can I speed up loading a large amount of data?',
  'Why is my query not using an index?',
  'How large should shared_buffers and work_mem be?',
  'How do I create a GIN index for full text search?',
  'What does to_tsvector do with stop words?',
  'How do advisory locks work?',
  'What is a serialization failure and how should an application retry it?',
  'What happens to referencing rows when a foreign key target is deleted?',
  'What statistics does ANALYZE collect for the planner?',
  'How do I start a transaction with a specific isolation level?',
  'Can a multicolumn index be used for a condition on its second column only?',
  'What does max_connections control and what does it cost?',
];
