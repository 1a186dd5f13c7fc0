import assert from 'node:assert/strict';
import { Admission, AdmissionRefused } from '../../src/http/admission';

describe('admission of push work', () => {
  it('admits a lone request whatever its size; refuses a second one past the budget, and releases', () => {
    const adm = new Admission({ budgetBytes: () => 1000, costPerByte: 4 });
    const a = adm.admit();
    a.grow(500); // 2000 > budget, but alone
    assert.equal(adm.inUseBytes, 2000);
    const b = adm.admit();
    assert.throws(() => b.grow(10), (e: unknown) => e instanceof AdmissionRefused && e.status === 503 && e.retryAfterSeconds === 1 && /INGEST_MEMORY_BUDGET_BYTES=1000/.test(e.message));
    assert.equal(adm.refused.budget, 1);
    assert.equal(adm.active, 1, 'the refused ticket was released');
    a.release();
    a.release();
    assert.equal(adm.inUseBytes, 0);
    assert.equal(adm.active, 0);
    const c = adm.admit();
    c.grow(100);
    const d = adm.admit();
    d.grow(100); // 800 ≤ 1000
    assert.equal(adm.inUseBytes, 800);
    assert.throws(() => d.grow(100), AdmissionRefused);
    assert.equal(adm.inUseBytes, 400);
  });

  it('budget 0 disables the budget; a pressure check refuses before any body is read', () => {
    const adm = new Admission({ budgetBytes: () => 0 });
    const a = adm.admit();
    const b = adm.admit();
    a.grow(1e9);
    b.grow(1e9);
    adm.setPressureCheck(() => 2.2);
    assert.throws(() => adm.admit(), (e: unknown) => e instanceof AdmissionRefused && e.reason === 'pressure' && e.retryAfterSeconds === 3);
    adm.setPressureCheck(() => false);
    adm.admit().release();
    assert.equal(adm.refused.pressure, 1);
  });
});
