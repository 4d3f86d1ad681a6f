/** The debtor of a position as both APIs show it (`/api/v1`'s `debtor`, GPD's position fields). */
import type { PositionRow } from './repository.js';

export function debtorOut(p: Pick<PositionRow, 'debtorType' | 'debtorFiscalCode' | 'debtorName' | 'debtorStreet' | 'debtorCivic' | 'debtorPostalCode' | 'debtorCity' | 'debtorProvince' | 'debtorCountry' | 'debtorEmail'>) {
  return {
    type: p.debtorType,
    fiscalCode: p.debtorFiscalCode,
    fullName: p.debtorName,
    streetName: p.debtorStreet,
    civicNumber: p.debtorCivic,
    postalCode: p.debtorPostalCode,
    city: p.debtorCity,
    province: p.debtorProvince,
    country: p.debtorCountry,
    email: p.debtorEmail,
  };
}
