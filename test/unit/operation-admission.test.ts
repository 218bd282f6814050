import { describe, expect, it } from '@jest/globals';
import { GraphQLError } from 'graphql';
import { OperationAdmission } from '../../src/auth/operation-admission.ts';

// A settlement-only operation's rate admission, deferred to its settles: taken or charged once, whichever comes first.

function deferred(refuse: boolean) {
  const calls: string[] = [];
  const admission = new OperationAdmission();
  admission.defer(
    () => {
      calls.push('take');
      return refuse ? new GraphQLError('tenant operation rate exceeded') : null;
    },
    () => calls.push('charge'),
  );
  return { admission, calls };
}

describe('the deferred admission of a settlement', () => {
  it('charges a settle of held jobs without refusing it, once for the whole operation', () => {
    const { admission, calls } = deferred(true);
    admission.chargeHeld();
    admission.chargeHeld();
    expect(() => admission.admitUnheld()).not.toThrow();
    expect(admission.finish()).toBeNull();
    expect(calls).toEqual(['charge']);
  });

  it('takes a settle of jobs the caller does not hold like any operation, refusing it when the rate is spent', () => {
    const refused = deferred(true);
    expect(() => refused.admission.admitUnheld()).toThrow('tenant operation rate exceeded');
    expect(refused.admission.finish()).toBeNull();
    expect(refused.calls).toEqual(['take']);
    const admitted = deferred(false);
    admitted.admission.admitUnheld();
    admitted.admission.chargeHeld();
    expect(admitted.calls).toEqual(['take']);
  });

  it('admits at the end an operation whose settles failed before they named any job, and answers its refusal', () => {
    const { admission, calls } = deferred(true);
    expect(admission.finish()?.message).toBe('tenant operation rate exceeded');
    expect(admission.finish()).toBeNull();
    expect(calls).toEqual(['take']);
  });

  it('does nothing for an operation whose admission was not deferred', () => {
    const admission = new OperationAdmission();
    expect(() => admission.admitUnheld()).not.toThrow();
    admission.chargeHeld();
    expect(admission.finish()).toBeNull();
  });
});
